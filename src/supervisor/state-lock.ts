import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

/**
 * One supervisor per sessions directory: two would both follow the same containers. The lock
 * is a pid file; a lock whose process is gone (a crash) is taken over.
 */
export async function acquireStateLock(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'supervisor.lock');
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new ClaudePodError(
        ErrorCodes.INVALID_CONFIG,
        `Another claude-pod supervisor (pid ${holder}) is using ${dir}; use a different sessionsDir or stop it`,
        { details: { pid: holder } },
      );
    }
    await writeFile(path, String(process.pid));
  }
  return async () => {
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (holder === process.pid) await rm(path, { force: true });
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
