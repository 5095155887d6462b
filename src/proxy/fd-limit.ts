import { readFileSync } from 'node:fs';

/**
 * Open-file limits. A proxy daemon holds two descriptors per proxied connection (the job's and
 * the upstream one), so a soft limit of 1024 would be reached by a few dozen busy jobs. Node
 * raises its own soft limit to the hard limit at startup (measured: a daemon started from a shell
 * with `ulimit -Sn 256` runs with 20000/20000 here, test/unit/proxy/fd-limit.test.ts), so no
 * wrapper is needed; the daemon sizes its connection budget from what it got and refuses new
 * connections (backpressure) long before EMFILE.
 */
export interface FdLimit {
  soft: number;
  hard: number;
}

/** `Max open files` of a process from /proc, or null where there is no /proc. */
export function readFdLimit(pid: number | 'self' = 'self'): FdLimit | null {
  try {
    const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
    if (!match) return null;
    const num = (s: string | undefined): number => (s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
    return { soft: num(match[1]), hard: num(match[2]) };
  } catch {
    return null;
  }
}

/** Descriptors kept free of job connections: logs, files, the control socket, listeners. */
const RESERVED_FDS = 128;

/** How many job connections the daemon accepts in all, each with its upstream connection. */
export function connectionBudget(limit: FdLimit | null, jobs = 0): number {
  const soft = limit?.soft ?? 1024;
  return Math.max(32, Math.floor((soft - RESERVED_FDS - jobs) / 2));
}
