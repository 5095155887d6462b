import { execa, type Options } from 'execa';
import { ClaudePodError, ErrorCodes, type ErrorCode } from '../shared/errors.js';

/** The last lines of a command's output: enough to see why it failed, not a wall of text. */
export function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a command (argv, never a shell) and throws a ClaudePodError carrying the fix and the tail
 * of stderr when it fails. Returns stdout.
 */
export async function execChecked(
  file: string,
  args: string[],
  fix: string,
  options: Options & { code?: ErrorCode } = {},
): Promise<string> {
  const { code = ErrorCodes.SETUP_FAILED, ...execaOptions } = options;
  const r = await execa(file, args, {
    stdin: 'ignore',
    timeout: 30 * 60_000,
    ...execaOptions,
    reject: false,
  });
  if (r.exitCode === 0) return String(r.stdout ?? '');
  const output = tail(String(r.stderr ?? '') || String(r.stdout ?? '') || String(r.shortMessage ?? ''));
  throw new ClaudePodError(
    code,
    `\`${[file, ...args].join(' ')}\` failed (exit ${r.exitCode ?? 'none'}): ${output}\nFix: ${fix}`,
    {
      details: { command: [file, ...args], exitCode: r.exitCode ?? null },
    },
  );
}
