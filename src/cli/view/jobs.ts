/** `status` and `sessions` as a person reads them: tables, and one job in detail. Pure. */
import type { JobStatus } from '../../supervisor/api.js';
import type { SessionInfo } from '../../supervisor/api.js';
import type { Colors } from './colors.js';
import { formatBytes, formatCost, formatDuration, formatTokens } from './format.js';
import { cliHint } from './hints.js';
import { sanitizeLine, sanitizeText, truncate } from './sanitize.js';
import { elapsedSeconds } from './status-line.js';
import { usageOf } from './stream-line.js';
import { formatTable } from './table.js';

const ageOf = (iso: string, now: number) => formatDuration(Math.max(0, (now - Date.parse(iso)) / 1000));

export function statusColor(status: JobStatus['status'], c: Colors): (s: string) => string {
  switch (status) {
    case 'completed':
      return c.green;
    case 'failed':
      return c.red;
    case 'cancelled':
      return c.yellow;
    case 'running':
      return c.cyan;
    case 'pending':
      return c.dim;
  }
}

export function jobsTable(jobs: JobStatus[], now: number, c: Colors): string[] {
  if (jobs.length === 0) return ['No jobs. Start one with: claude-pod run "<prompt>"'];
  const sorted = [...jobs].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const rows = sorted.map((j) => [
    j.jobId,
    j.sessionId,
    statusColor(j.status, c)(j.status),
    ageOf(j.createdAt, now),
    formatBytes(j.outputSize),
    formatCost(j.claude.costUsd),
    j.status === 'running' ? j.activityState : '–',
  ]);
  const running = jobs.filter((j) => j.status === 'running').length;
  const pending = jobs.filter((j) => j.status === 'pending').length;
  return [
    ...formatTable(
      [
        { header: 'JOB' },
        { header: 'SESSION' },
        { header: 'STATUS' },
        { header: 'AGE', align: 'right' },
        { header: 'OUTPUT', align: 'right' },
        { header: 'COST', align: 'right' },
        { header: 'ACTIVITY' },
      ],
      rows,
      c.bold,
    ),
    '',
    c.dim(
      `${jobs.length} job${jobs.length === 1 ? '' : 's'}, ${running} running, ${pending} pending · details: claude-pod status JOB`,
    ),
  ];
}

export function jobDetail(j: JobStatus, now: number, c: Colors, details?: { image?: unknown }): string[] {
  const usage = usageOf(j.claude.usage);
  const rows: Array<[string, string | null]> = [
    ['job', j.jobId],
    ['session', j.sessionId],
    ['status', statusColor(j.status, c)(j.status)],
    ['created', `${j.createdAt} (${ageOf(j.createdAt, now)} ago)`],
    ['started', j.startedAt],
    ['ended', j.endedAt],
    ['elapsed', formatDuration(elapsedSeconds(j, now))],
    ['activity', j.status === 'running' ? j.activityState : null],
    [
      'output',
      `${formatBytes(j.outputSize)}${j.outputTruncated ? ' (truncated at maxOutputSize)' : ''}` +
        (j.lastOutputSecondsAgo !== null && j.status === 'running'
          ? `, last ${formatDuration(j.lastOutputSecondsAgo)} ago`
          : ''),
    ],
    [
      'metrics',
      j.metrics && j.status === 'running'
        ? `cpu ${j.metrics.cpuPercent.toFixed(0)}%, memory ${formatBytes(j.metrics.memoryBytes)}, ${j.metrics.pids ?? '?'} pids`
        : null,
    ],
    ['model', j.claude.model ? sanitizeLine(j.claude.model) : null],
    ['turns', j.claude.numTurns === null ? null : String(j.claude.numTurns)],
    ['tokens', usage ? `${formatTokens(usage.input)} in, ${formatTokens(usage.output)} out` : null],
    ['cost', j.claude.costUsd === null ? null : formatCost(j.claude.costUsd)],
    ['exit code', j.exitCode === null ? null : String(j.exitCode)],
    ['error', j.error ? c.red(`[${j.errorCode ?? 'UNKNOWN'}] ${sanitizeLine(j.error)}`) : null],
    ['hint', j.error ? (cliHint(j.errorCode, details)?.replaceAll('JOB', j.jobId) ?? null) : null],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== null);
  const width = Math.max(...shown.map(([k]) => k.length));
  const lines = shown.map(([k, v]) => `${c.dim(k.padEnd(width))}  ${v}`);
  if (j.claude.result) {
    const result = sanitizeText(j.claude.result).trim().split('\n');
    lines.push(`${c.dim('result'.padEnd(width))}  ${truncate(result[0] ?? '', 200)}`);
    for (const more of result.slice(1, 8)) lines.push(`${' '.repeat(width)}  ${truncate(more, 200)}`);
  }
  lines.push('', c.dim(`output: claude-pod logs ${j.jobId}${j.status === 'running' ? ' -f' : ''}`));
  return lines;
}

export function sessionsTable(sessions: SessionInfo[], c: Colors): string[] {
  if (sessions.length === 0) return ['No sessions.'];
  const sorted = [...sessions].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return [
    ...formatTable(
      [
        { header: 'SESSION' },
        { header: 'AGE', align: 'right' },
        { header: 'LAST ACTIVE', align: 'right' },
        { header: 'MESSAGES', align: 'right' },
        { header: 'ACTIVE JOB' },
        { header: 'WORKSPACE' },
      ],
      sorted.map((s) => [
        s.sessionId,
        formatDuration(s.ageSeconds),
        `${formatDuration(s.lastActivitySecondsAgo)} ago`,
        String(s.messageCount),
        s.activeJob ? `${s.activeJob.jobId} (${s.activeJob.status})` : '–',
        s.workspaceDir,
      ]),
      c.bold,
    ),
    '',
    c.dim(
      `${sessions.length} session${sessions.length === 1 ? '' : 's'} · continue one: claude-pod run --session SESSION "<prompt>"`,
    ),
  ];
}
