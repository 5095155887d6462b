import { readFile, unlink } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';

/**
 * The pid file names the daemon that currently serves a state directory, and for which
 * configuration (a hash, never the secret). It is also the baton of a takeover: a daemon serves
 * (re-creates sockets, re-listens after a pause) only while this file names it; a newer daemon
 * writes it first, and the older one then drains and exits.
 */
export const pidFileSchema = z.object({
  protocol: z.literal(2),
  pid: z.number().int().positive(),
  fingerprint: z.string(),
  controlSocket: z.string(),
  upstream: z.string(),
  credentialKind: z.enum(['api-key', 'oauth', 'oauth-file']),
  startedAt: z.number(),
});
export type ProxyPidFile = z.infer<typeof pidFileSchema>;

/** What an earlier daemon (one shared socket for every job) wrote: enough to ask it to drain. */
const legacyPidFileSchema = z.object({ pid: z.number().int().positive(), socketPath: z.string() });

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

export async function readPidFile(path: string): Promise<ProxyPidFile | null> {
  const parsed = pidFileSchema.safeParse(await readJson(path));
  return parsed.success ? parsed.data : null;
}

/** The pid of a daemon of the previous protocol named by the file, or null. */
export async function readLegacyPid(path: string): Promise<number | null> {
  const json = await readJson(path);
  if (pidFileSchema.safeParse(json).success) return null;
  const legacy = legacyPidFileSchema.safeParse(json);
  return legacy.success ? legacy.data.pid : null;
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

/** Whether `pid` runs our daemon (pids get reused: never signal a stranger). */
export async function isProxyProcess(pid: number): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return /proxy[/\\]main\.(js|ts)/.test(cmdline);
  } catch {
    return false;
  }
}
