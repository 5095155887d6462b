import type { JobState } from '../shared/protocol.js';
import type { SessionRecord } from './records.js';

export interface SessionInfo {
  sessionId: string;
  ageSeconds: number;
  lastActivitySecondsAgo: number;
  messageCount: number;
  activeJob: { jobId: string; status: string } | null;
  claudeSessionId: string | null;
  workspaceDir: string;
  createdAt: string;
  lastActivityAt: string;
}

export function sessionInfoView(
  session: SessionRecord,
  workspaceDir: string,
  activeStatus: JobState | null,
  now: number,
): SessionInfo {
  return {
    sessionId: session.sessionId,
    ageSeconds: Math.round((now - session.createdAt) / 1000),
    lastActivitySecondsAgo: Math.round((now - session.lastActivityAt) / 1000),
    messageCount: session.messageCount,
    activeJob:
      session.activeJobId && activeStatus ? { jobId: session.activeJobId, status: activeStatus } : null,
    claudeSessionId: session.claudeSessionId,
    workspaceDir,
    createdAt: new Date(session.createdAt).toISOString(),
    lastActivityAt: new Date(session.lastActivityAt).toISOString(),
  };
}
