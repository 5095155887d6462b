import { z } from 'zod';
import type { SessionInfo } from '../supervisor/session-view.js';
import { defineTool } from './define.js';
import { okResult } from './result.js';
import { sessionInfoSchema } from './schemas.js';

export const sessionsTool = defineTool({
  name: 'claude_code_sessions',
  label: 'Claude Code: sessions',
  description:
    'List the Claude Code sessions that exist: session ID, age, last activity, message count, and the active ' +
    'job (ID and status) if one is running. Use it to find a session to continue with claude_code_start ' +
    '(session_id) or a job you lost track of.',
  parameters: z.object({}).strict(),
  details: z
    .object({
      ok: z.literal(true),
      sessions: z.array(sessionInfoSchema),
    })
    .strict(),
  async run(supervisor) {
    const sessions = supervisor.sessions();
    return okResult(sessionsText(sessions), { sessions });
  },
});

/** The seed's listing format. */
function sessionsText(sessions: SessionInfo[]): string {
  if (sessions.length === 0) return 'No active sessions.';
  const blocks = sessions.map((s) =>
    [
      `Session: ${s.sessionId}`,
      `  Age: ${formatDuration(s.ageSeconds)}`,
      `  Last Active: ${formatDuration(s.lastActivitySecondsAgo)} ago`,
      `  Messages: ${s.messageCount}`,
      s.activeJob ? `  Active Job: ${s.activeJob.jobId} (${s.activeJob.status})` : '',
      s.claudeSessionId ? `  Claude Session: ${s.claudeSessionId}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return `Found ${sessions.length} session(s):\n\n${blocks.join('\n\n')}`;
}

export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (days > 0) return `${days}d ${hours % 24}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  if (minutes > 0) return `${minutes}m ${seconds % 60}s`;
  return `${seconds}s`;
}
