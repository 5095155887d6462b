import { z } from 'zod';
import type { CleanupResult } from '../supervisor/api.js';
import { defineTool } from './define.js';
import { okResult } from './result.js';

export const cleanupTool = defineTool({
  name: 'claude_code_cleanup',
  label: 'Claude Code: clean up sessions',
  description:
    'Remove Claude Code sessions that have been idle longer than the configured sessionIdleTimeout. This deletes ' +
    "each removed session's jobs and output and its workspace directory with every file in it (a workspace " +
    'claude-pod did not create is kept). Sessions with a job in progress are never removed. Idle sessions are ' +
    'also cleaned up automatically; call this only to free space now. Returns what was removed and the bytes freed.',
  parameters: z.object({}).strict(),
  details: z
    .object({
      ok: z.literal(true),
      removedSessions: z.array(z.string()),
      removed: z.array(
        z
          .object({
            sessionId: z.string(),
            workspaceDir: z.string(),
            workspaceDeleted: z.boolean().describe('The workspace and all files in it were deleted'),
            bytesFreed: z.number(),
          })
          .strict(),
      ),
      bytesFreed: z.number().describe('Bytes freed in total'),
    })
    .strict(),
  async run(supervisor) {
    const result = await supervisor.cleanup();
    return okResult(cleanupText(result), {
      removedSessions: result.removedSessions,
      removed: result.removed,
      bytesFreed: result.bytesFreed,
    });
  },
});

/** The seed's first line, then what was deleted with each session. */
export function cleanupText(result: CleanupResult): string {
  const { removedSessions, removed, bytesFreed } = result;
  if (removedSessions.length === 0) return 'No idle sessions to clean up.';
  const lines = [`Cleaned up ${removedSessions.length} idle session(s): ${removedSessions.join(', ')}`];
  for (const r of removed) {
    lines.push(
      r.workspaceDeleted
        ? `- ${r.sessionId}: deleted its workspace ${r.workspaceDir} and all files in it (${kb(r.bytesFreed)})`
        : `- ${r.sessionId}: its workspace ${r.workspaceDir} was kept (claude-pod did not create it)`,
    );
  }
  const deleted = removed.filter((r) => r.workspaceDeleted).length;
  lines.push(`Deleted ${deleted} workspace(s); ${kb(bytesFreed)} freed.`);
  return lines.join('\n');
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
