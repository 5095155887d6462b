import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

/**
 * One owner per state directory, across processes and inside one: the lock file names its
 * holder by pid *and* process start time (a pid alone is reused), and a process-wide set
 * (shared across module copies through a global symbol) refuses a second owner in the same
 * process. Only a dead holder's lock is taken over, under a takeover directory so two
 * processes cannot both take it.
 */
export interface LockHolder {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22), when known. */
  startTime: string | null;
  hostname: string;
  acquiredAt: number;
}

export type LockResult =
  { acquired: true; release: () => Promise<void> } | { acquired: false; holder: LockHolder };

const HELD_KEY = Symbol.for('claude-pod.state-locks');
const held: Set<string> =
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] as Set<string> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] = new Set<string>());

const TAKEOVER_STALE_MS = 10_000;

export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function ourHolder(): LockHolder {
  return {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    hostname: hostname(),
    acquiredAt: Date.now(),
  };
}

/** Whether the process that wrote this lock still runs (a lock from another host counts as live). */
export function holderAlive(h: LockHolder): boolean {
  if (h.hostname !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStartTime(h.pid);
  return h.startTime === null || now === null || now === h.startTime;
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number') return null;
    return {
      pid: parsed.pid,
      startTime: typeof parsed.startTime === 'string' ? parsed.startTime : null,
      hostname: typeof parsed.hostname === 'string' ? parsed.hostname : hostname(),
      acquiredAt: typeof parsed.acquiredAt === 'number' ? parsed.acquiredAt : 0,
    };
  } catch {
    return null;
  }
}

export async function readLockHolder(path: string): Promise<LockHolder | null> {
  const h = await readHolder(path);
  return h && holderAlive(h) ? h : null;
}

export async function acquireStateLock(path: string): Promise<LockResult> {
  if (held.has(path)) return { acquired: false, holder: ourHolder() };
  const me = ourHolder();
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await writeFile(path, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      if (held.has(path)) {
        // Another owner in this process won the same race meanwhile; give ours back.
        return { acquired: false, holder: me };
      }
      held.add(path);
      return { acquired: true, release: () => release(path, me) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(path);
    if (holder && holderAlive(holder)) return { acquired: false, holder };
    await takeOverDeadLock(path);
  }
  throw new Error(`this should not happen: could not settle the lock ${path}`);
}

/** Removes a dead holder's lock, with a takeover directory as the mutex between contenders. */
async function takeOverDeadLock(path: string): Promise<void> {
  const mutex = `${path}.takeover`;
  try {
    await mkdir(mutex);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = await stat(mutex).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > TAKEOVER_STALE_MS) await rmdir(mutex).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 25));
    return;
  }
  try {
    const holder = await readHolder(path);
    if (!holder || !holderAlive(holder)) await rm(path, { force: true });
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
}

async function release(path: string, me: LockHolder): Promise<void> {
  if (!held.delete(path)) return;
  const holder = await readHolder(path);
  if (holder && holder.pid === me.pid && holder.startTime === me.startTime) await rm(path, { force: true });
}
