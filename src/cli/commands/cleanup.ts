/** `claude-pod cleanup`: remove idle sessions — their state, jobs, output and workspaces. */
import type { CleanupResult } from '../../supervisor/api.js';
import { seconds } from '../arguments.js';
import { loadConfig, withSupervisor } from '../open-supervisor.js';
import { configOption, jsonOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';
import { formatBytes } from '../view/format.js';

export const register: Register = (program, ctx) => {
  program
    .command('cleanup')
    .summary('remove idle sessions with their jobs, output and workspaces')
    .description(
      'Remove sessions idle for longer than sessionIdleTimeout (or --older-than): their jobs, output and\n' +
        'Claude transcripts, and the workspace directory with every file in it (when claude-pod created it).\n' +
        'A session with a job in progress is never removed.',
    )
    .option(
      '--older-than <seconds>',
      'remove sessions idle for longer than this (default: sessionIdleTimeout)',
      seconds,
    )
    .addOption(jsonOption('print what was removed as JSON'))
    .addOption(configOption())
    .action(async (flags: ConfigFlag & { json?: boolean; olderThan?: number }) => {
      const { io } = ctx;
      const config = await loadConfig(flags.config);
      const threshold = flags.olderThan ?? config.sessionIdleTimeout;
      await withSupervisor(config, async (api) => {
        const result = await api.cleanup(
          flags.olderThan === undefined ? {} : { olderThanSeconds: flags.olderThan },
        );
        io.stdout.write(
          flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${cleanupText(result, threshold)}\n`,
        );
      });
      ctx.exit(0);
    });
};

export function cleanupText(result: CleanupResult, thresholdSeconds: number): string {
  if (result.removedSessions.length === 0)
    return `No sessions idle for more than ${thresholdSeconds} s; nothing removed.`;
  const deleted = result.removed.filter((r) => r.workspaceDeleted).length;
  const lines = [
    `Removed ${result.removedSessions.length} session(s); deleted ${deleted} workspace(s), ${formatBytes(result.bytesFreed)} freed:`,
  ];
  for (const r of result.removed) {
    lines.push(
      `  ${r.sessionId}  ${r.workspaceDeleted ? `deleted ${r.workspaceDir} (${formatBytes(r.bytesFreed)})` : `kept ${r.workspaceDir} (not created by claude-pod)`}`,
    );
  }
  return lines.join('\n');
}
