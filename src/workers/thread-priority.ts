/**
 * Job threads run at a lower CPU priority than the host's main thread (nice +10, Linux): with
 * many jobs on few cores the gateway's event loop must win the CPU. Processes a job thread starts
 * (the runtime client, and through it the container) inherit it.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export const JOB_THREAD_NICE = 10;

/** Lowers the calling thread's priority to JOB_THREAD_NICE (a no-op where not Linux or not permitted). */
export function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, JOB_THREAD_NICE);
  } catch {
    // Not Linux, or not permitted: run at normal priority.
  }
}
