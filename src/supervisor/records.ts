import type { SerializedError } from '../shared/errors.js';
import type { JobProgress, JobState } from '../shared/protocol.js';

/**
 * Where a job is in its life, as persisted. `queued`: waiting for a worker, no container can
 * exist; `launching`: a worker may have asked the runtime for the container (it may or may not
 * exist yet); `running`: the container was seen running; `ended`: `status` says how.
 */
export type JobPhase = 'queued' | 'launching' | 'running' | 'ended';

/** A job as the supervisor keeps and persists it. Paths are derived from the ids, never stored. */
export interface JobRecord {
  jobId: string;
  sessionId: string;
  prompt: string;
  phase: JobPhase;
  /** What status() says; written only by the state machine, together with `phase`. */
  status: JobState;
  /** A caller asked to cancel; survives a restart, so the next supervisor finishes the cancel. */
  cancelRequested: boolean;
  /** Claude's session id this job resumes, if any. */
  resumeClaudeSessionId: string | null;
  createdAt: number;
  launchedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  error: SerializedError | null;
  progress: JobProgress;
  /** Set once the completion notification was delivered (or given up on). */
  notified: boolean;
  /**
   * The engine (config `engines[].name`) the job was placed on when it was created; its
   * container, if any, lives there. Absent in registries written before engines existed: the
   * default engine (`local`).
   */
  engine?: string;
}

/** A session as the supervisor keeps and persists it. */
export interface SessionRecord {
  sessionId: string;
  createdAt: number;
  lastActivityAt: number;
  /** Whether we created the workspace (only then does cleanup delete it). */
  createdWorkspace: boolean;
  /** Claude's own session id, for `--resume`: taken only from a job that completed. */
  claudeSessionId: string | null;
  /** Prompts sent in this session. */
  messageCount: number;
  activeJobId: string | null;
  jobIds: string[];
}

export interface RegistryState {
  version: 2;
  sessions: Record<string, SessionRecord>;
  jobs: Record<string, JobRecord>;
}
