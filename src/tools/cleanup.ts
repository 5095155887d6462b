import { z } from 'zod';
import { defineTool } from './define.js';
import { okResult } from './result.js';

export const cleanupTool = defineTool({
  name: 'claude_code_cleanup',
  label: 'Claude Code: clean up sessions',
  description:
    'Remove Claude Code sessions that have been idle longer than the configured sessionIdleTimeout, with their ' +
    'workspaces, jobs and output. Sessions with a job in progress are never removed. Idle sessions are also ' +
    'cleaned up automatically; call this only to free space now. Returns the removed session IDs.',
  parameters: z.object({}).strict(),
  details: z
    .object({
      ok: z.literal(true),
      removedSessions: z.array(z.string()),
    })
    .strict(),
  async run(supervisor) {
    const { removedSessions } = await supervisor.cleanup();
    const text =
      removedSessions.length === 0
        ? 'No idle sessions to clean up.'
        : `Cleaned up ${removedSessions.length} idle session(s): ${removedSessions.join(', ')}`;
    return okResult(text, { removedSessions });
  },
});
