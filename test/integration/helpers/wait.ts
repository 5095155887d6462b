import type { JobStatus } from '../../../src/supervisor/job-view.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';

/** Default bound for one job's whole life in these tests (a real container, CLI and mock API). */
export const JOB_LIFE_MS = 90_000;

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/**
 * Resolves with the job's final status once it ended; rejects after `timeoutMs` with the status
 * it was stuck in, so a hang fails its test with a reason instead of waiting out the test timeout.
 */
export function waitForEnd(sup: Supervisor, jobId: string, timeoutMs = JOB_LIFE_MS): Promise<JobStatus> {
  return new Promise<JobStatus>((resolve, reject) => {
    const now = sup.status(jobId);
    if (ENDED.has(now.status)) return resolve(now);
    const timer = setTimeout(() => {
      sup.off('job:end', on);
      const s = sup.status(jobId);
      reject(
        new Error(
          `job ${jobId} did not end within ${timeoutMs} ms (still ${s.status}, ${s.outputSize} bytes)`,
        ),
      );
    }, timeoutMs);
    const on = (s: JobStatus) => {
      if (s.jobId !== jobId) return;
      clearTimeout(timer);
      sup.off('job:end', on);
      resolve(s);
    };
    sup.on('job:end', on);
  });
}

/** Resolves with the first progress snapshot of `jobId` that satisfies `pred`; rejects after `timeoutMs`. */
export function waitForStatus(
  sup: Supervisor,
  jobId: string,
  pred: (s: JobStatus) => boolean,
  what: string,
  timeoutMs = JOB_LIFE_MS,
): Promise<JobStatus> {
  return new Promise<JobStatus>((resolve, reject) => {
    const check = () => {
      const s = sup.status(jobId);
      if (pred(s)) {
        done();
        resolve(s);
      } else if (ENDED.has(s.status)) {
        done();
        reject(new Error(`job ${jobId} ended (${s.status}: ${s.error}) before ${what}`));
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${what} within ${timeoutMs} ms (job ${jobId} is ${sup.status(jobId).status})`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      sup.off('job:progress', check);
      sup.off('job:end', check);
    };
    sup.on('job:progress', check);
    sup.on('job:end', check);
    check();
  });
}

/** Polls `check` until it returns something other than undefined; rejects after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = JOB_LIFE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
