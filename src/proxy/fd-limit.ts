import { readFileSync } from 'node:fs';

/**
 * Open-file limits. A proxy daemon holds two descriptors per proxied connection (the job's and
 * the upstream one), so the default soft limit (often 1024) would be reached by a few dozen busy
 * jobs. It is started through `sh` raising its soft limit to the hard limit (which an
 * unprivileged process may do), and sizes its connection budget from what it got.
 */
export function withRaisedFdLimit(command: string, args: string[]): { command: string; args: string[] } {
  // `$0 "$@"` keeps every argument as it is; a failing ulimit (e.g. "unlimited") changes nothing.
  const script = 'ulimit -n "$(ulimit -H -n)" 2>/dev/null; exec "$0" "$@"';
  return { command: '/bin/sh', args: ['-c', script, command, ...args] };
}

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
