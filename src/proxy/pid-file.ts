import { readFile, unlink } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';

/** The daemon's pid file: who serves the socket, and for which configuration (a hash, never the secret). */
export const pidFileSchema = z.object({
  pid: z.number().int().positive(),
  fingerprint: z.string(),
  socketPath: z.string(),
  upstream: z.string(),
  credentialKind: z.enum(['api-key', 'oauth']),
  startedAt: z.number(),
});
export type ProxyPidFile = z.infer<typeof pidFileSchema>;

export async function readPidFile(path: string): Promise<ProxyPidFile | null> {
  try {
    return pidFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return null;
  }
}

export async function writePidFile(path: string, data: ProxyPidFile): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the pid file only while it still names `pid`: a successor's file is left alone. */
export async function removePidFileIfOwned(path: string, pid: number): Promise<void> {
  const current = await readPidFile(path);
  if (current?.pid !== pid) return;
  await unlink(path).catch(() => undefined);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
