/**
 * Watches one job to its end through the SupervisorApi only — `job:progress` and `job:end`
 * events say when to read, `output()` reads by byte offset, `status()` answers from memory —
 * so it works the same against an owner in this process and a client of another one. A slow
 * poll covers events a client may miss while it reconnects.
 */
import type { SupervisorApi } from '../../supervisor/api.js';
import type { JobStatus } from '../../supervisor/api.js';
import type { JobView } from './job-view.js';
import { OutputFollower } from './output-follower.js';
import { changedFiles } from './workspace-changes.js';

/** What the watcher needs of a SupervisorApi (a fake in unit tests). */
export interface WatchApi extends Pick<SupervisorApi, 'status' | 'output' | 'sessions'> {
  on(event: 'job:progress' | 'job:end', listener: (status: JobStatus) => void): unknown;
  off(event: 'job:progress' | 'job:end', listener: (status: JobStatus) => void): unknown;
}

export const isEnded = (s: Pick<JobStatus, 'status'>): boolean =>
  s.status === 'completed' || s.status === 'failed' || s.status === 'cancelled';

export interface WatchOptions {
  /** Aborting stops watching (detach); the job is not touched. */
  signal?: AbortSignal;
  /** Byte offset to start reading from (default 0: the whole output). */
  offset?: number;
  pollMs?: number;
  /** Stop after what is there now instead of following a running job to its end. */
  once?: boolean;
  /** Details of the error a job ended with, for the hint (the image of IMAGE_NOT_FOUND). */
  errorDetails?: { image?: unknown };
}

/** Resolves with the job's final status, or null when aborted (or `once` and still running). */
export async function watchJob(
  api: WatchApi,
  jobId: string,
  view: JobView,
  opts: WatchOptions = {},
): Promise<JobStatus | null> {
  const follower = new OutputFollower(api, jobId, (text) => view.chunk(text), { offset: opts.offset ?? 0 });
  let settle!: (value: JobStatus | null) => void;
  let fail!: (error: unknown) => void;
  const outcome = new Promise<JobStatus | null>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const read = () => void follower.pump().catch(fail);
  const onProgress = (s: JobStatus) => {
    if (s.jobId !== jobId) return;
    view.progress(s);
    read();
  };
  const onEnd = (s: JobStatus) => {
    if (s.jobId === jobId) settle(s);
  };
  const onAbort = () => settle(null);
  api.on('job:progress', onProgress);
  api.on('job:end', onEnd);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const poll = setInterval(() => {
    try {
      const s = api.status(jobId);
      if (isEnded(s)) settle(s);
      else onProgress(s);
    } catch (error) {
      fail(error);
    }
  }, opts.pollMs ?? 1000);
  try {
    if (opts.signal?.aborted) return null;
    const first = api.status(jobId);
    view.progress(first);
    await follower.pump();
    if (isEnded(first)) settle(first);
    else if (opts.once) settle(null);
    const final = await outcome;
    if (!final) return null;
    clearInterval(poll);
    await follower.pump();
    view.end(final, {
      filesChanged: await filesChangedBy(api, final),
      ...(opts.errorDetails ? { errorDetails: opts.errorDetails } : {}),
    });
    return final;
  } finally {
    clearInterval(poll);
    api.off('job:progress', onProgress);
    api.off('job:end', onEnd);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

async function filesChangedBy(api: WatchApi, job: JobStatus) {
  if (!job.startedAt) return null;
  const session = api.sessions().find((s) => s.sessionId === job.sessionId);
  if (!session) return null;
  return changedFiles(session.workspaceDir, Date.parse(job.startedAt));
}
