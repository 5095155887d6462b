/**
 * What every supervisor handle offers, whether it owns the state directory (`Supervisor`) or is a
 * client of the process that does (`SupervisorClient`, over the directory's control socket).
 * `createSupervisor()` returns one or the other; the CLI, the OpenClaw tools and library users
 * program against this interface only.
 */
import type { EventEmitter } from 'eventemitter3';
import type { ClaudePodError, ErrorCode } from '../shared/errors.js';
import type { JobState } from '../shared/protocol.js';
import type { JobStatus } from './job-view.js';
import type { SessionInfo } from './session-view.js';

export interface SupervisorEvents {
  'job:start': (status: JobStatus) => void;
  'job:running': (status: JobStatus) => void;
  'job:progress': (status: JobStatus) => void;
  'job:end': (status: JobStatus) => void;
  'session:removed': (sessionId: string) => void;
  error: (error: ClaudePodError) => void;
}

export interface StartInput {
  prompt: string;
  /** Continue this session; omitted: a new session. An unknown id is SESSION_NOT_FOUND. */
  sessionId?: string;
}

export interface StartResult {
  jobId: string;
  sessionId: string;
}

export interface OutputPage {
  jobId: string;
  status: JobState;
  content: string;
  offset: number;
  nextOffset: number;
  size: number;
  hasMore: boolean;
}

export interface CleanupResult {
  removedSessions: string[];
  /** What each removal deleted: its state, its workspace when we created it, and the bytes freed. */
  removed: Array<{ sessionId: string; workspaceDir: string; workspaceDeleted: boolean; bytesFreed: number }>;
  bytesFreed: number;
}

/** Bounds for calls that wait for something to happen. */
export interface WaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface SupervisorInfo {
  /** `owner`: this handle runs the jobs; `client`: it talks to the process that does. */
  role: 'owner' | 'client';
  /** The pid of the process that owns the state directory. */
  ownerPid: number;
  sessionsDir: string;
  version: string;
  notifications: { enabled: boolean; url: string | null };
}

export interface SupervisorApi extends EventEmitter<SupervisorEvents> {
  start(input: StartInput): Promise<StartResult>;
  /** The latest snapshot of a job, from memory: never waits on a worker or the owner. */
  status(jobId: string): JobStatus;
  jobs(): JobStatus[];
  output(jobId: string, opts?: { offset?: number; limit?: number }): Promise<OutputPage>;
  /** Resolves with the job's status once it has ended (or at the bound, with its status then). */
  cancel(jobId: string, opts?: WaitOptions): Promise<JobStatus>;
  sessions(): SessionInfo[];
  cleanup(opts?: { olderThanSeconds?: number }): Promise<CleanupResult>;
  info(): SupervisorInfo;
  /** An owner stops supervising (jobs keep running unless cancelRunning); a client disconnects. */
  close(opts?: { cancelRunning?: boolean } & WaitOptions): Promise<void>;
}

export type { JobStatus, SessionInfo, ErrorCode };
