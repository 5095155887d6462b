/**
 * The state directory's lock: one holder across processes and inside one, a dead holder's lock
 * taken over — dead judged by pid *and* process start time, since pids are reused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireStateLock, processStartTime, type LockHolder } from '../../../src/supervisor/state-lock.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function lockPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpod-lock-'));
  dirs.push(dir);
  return join(dir, 'supervisor.lock');
}

function writeHolder(path: string, holder: Partial<LockHolder>): void {
  writeFileSync(path, JSON.stringify({ hostname: hostname(), acquiredAt: 1, ...holder }), { mode: 0o600 });
}

/** A live process that is not this one. */
function sleeper(): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function deadPid(): Promise<number> {
  const child = spawn('true', [], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('the state lock', () => {
  it('is a 0600 file naming this process; a second acquire in the same process is refused; release frees it', async () => {
    const path = lockPath();
    const first = await acquireStateLock(path);
    expect(first.acquired).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const written = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    expect(written).toMatchObject({ pid: process.pid, startTime: processStartTime(process.pid) });
    const second = await acquireStateLock(path);
    expect(second).toMatchObject({ acquired: false, holder: { pid: process.pid } });
    if (first.acquired) await first.release();
    expect(existsSync(path)).toBe(false);
    const third = await acquireStateLock(path);
    expect(third.acquired).toBe(true);
    if (third.acquired) await third.release();
  });

  it('a live holder in another process keeps it', async () => {
    const path = lockPath();
    const child = sleeper();
    await new Promise((resolve) => setTimeout(resolve, 50));
    writeHolder(path, { pid: child.pid!, startTime: processStartTime(child.pid!) });
    const result = await acquireStateLock(path);
    expect(result).toMatchObject({ acquired: false, holder: { pid: child.pid } });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: child.pid });
  });

  it('a holder whose pid now belongs to another process (other start time) is dead: its lock is taken over', async () => {
    const path = lockPath();
    const child = sleeper();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const real = processStartTime(child.pid!);
    expect(real).not.toBeNull();
    writeHolder(path, { pid: child.pid!, startTime: String(Number(real) - 1000) });
    const result = await acquireStateLock(path);
    expect(result.acquired).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    if (result.acquired) await result.release();
  });

  it('a holder that exited is dead: its lock is taken over', async () => {
    const path = lockPath();
    writeHolder(path, { pid: await deadPid(), startTime: '1' });
    const result = await acquireStateLock(path);
    expect(result.acquired).toBe(true);
    if (result.acquired) await result.release();
  });

  it('a holder on another host counts as live (its pid means nothing here)', async () => {
    const path = lockPath();
    writeHolder(path, { pid: await deadPid(), startTime: '1', hostname: `not-${hostname()}` });
    expect((await acquireStateLock(path)).acquired).toBe(false);
  });

  it('many contenders for a dead lock at once: exactly one gets it', async () => {
    const path = lockPath();
    writeHolder(path, { pid: await deadPid(), startTime: '1' });
    const results = await Promise.all(Array.from({ length: 12 }, () => acquireStateLock(path)));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    for (const r of results) if (r.acquired) await r.release();
  });

  it('release never removes a lock that another holder has written since', async () => {
    const path = lockPath();
    const mine = await acquireStateLock(path);
    expect(mine.acquired).toBe(true);
    const child = sleeper();
    await new Promise((resolve) => setTimeout(resolve, 50));
    writeHolder(path, { pid: child.pid!, startTime: processStartTime(child.pid!) });
    if (mine.acquired) await mine.release();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: child.pid });
  });
});
