import type { SerializedError } from '../shared/errors.js';
import type { JobProgress, JobState } from '../shared/protocol.js';

/** A job as the supervisor keeps and persists it. */
export interface JobRecord {
  jobId: string;
  sessionId: string;
  prompt: string;
  status: JobState;
  /** Claude's session id this job resumes, if any. */
  resumeClaudeSessionId: string | null;
  containerName: string;
  outputPath: string;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  error: SerializedError | null;
  progress: JobProgress;
  /** Set once the completion notification was delivered (or given up on). */
  notified: boolean;
}

/** A session as the supervisor keeps and persists it. */
export interface SessionRecord {
  sessionId: string;
  createdAt: number;
  lastActivityAt: number;
  workspaceDir: string;
  /** Whether we created the workspace (only then does cleanup delete it). */
  createdWorkspace: boolean;
  stateDir: string;
  /** Claude's own session id, for `--resume`. */
  claudeSessionId: string | null;
  /** Prompts sent in this session. */
  messageCount: number;
  activeJobId: string | null;
  jobIds: string[];
}

export interface RegistryState {
  version: 1;
  sessions: Record<string, SessionRecord>;
  jobs: Record<string, JobRecord>;
}
