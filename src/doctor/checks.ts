/** One line of the doctor's report. `fail` means a hard requirement is not met (non-zero exit). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface Check {
  id: string;
  label: string;
  status: CheckStatus;
  value: string;
  /** What to do about a `warn` or `fail`. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
}

const MARK: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', info: '--' };

export function toReport(checks: Check[]): DoctorReport {
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

/** The report as an aligned plain-text table, fixes under the rows they belong to. */
export function formatReport(report: DoctorReport): string {
  const labelWidth = Math.max(...report.checks.map((c) => c.label.length));
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${MARK[c.status].padEnd(4)}  ${c.label.padEnd(labelWidth)}  ${c.value}`);
    if (c.fix && (c.status === 'fail' || c.status === 'warn'))
      lines.push(`${' '.repeat(labelWidth + 8)}fix: ${c.fix}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push('');
  lines.push(
    failed === 0
      ? `doctor: all hard requirements met${warned ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}`
      : `doctor: ${failed} hard requirement${failed > 1 ? 's' : ''} failed`,
  );
  return lines.join('\n');
}
