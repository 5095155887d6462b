import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, rename, unlink } from 'node:fs/promises';
import type net from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { SocketOwner } from './paths.js';

/**
 * Listens on a unix socket and puts it at `path` in one atomic rename:
 * - the socket gets its mode (0600) and owner before anyone can reach it by name;
 * - a daemon taking over from another replaces the file with no moment where it is missing
 *   (the other one keeps serving the connections it already has);
 * - closing the server later never removes the path: node unlinks the name it listened on, which
 *   by then is gone, so a successor's socket at `path` is never deleted by its predecessor.
 * Resolves with the socket's inode, by which the owner later recognises its own file.
 */
export async function listenAt(server: net.Server, path: string, owner: SocketOwner | null): Promise<number> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: tmp, backlog: 128 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await chmod(tmp, 0o600);
    if (owner) await chown(tmp, owner.uid, owner.gid);
    const { ino } = await lstat(tmp);
    await rename(tmp, path);
    return ino;
  } catch (error) {
    server.close();
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** The inode of the socket file at `path`, or null when there is none. */
export async function socketInode(path: string): Promise<number | null> {
  try {
    const info = await lstat(path);
    return info.isSocket() ? info.ino : null;
  } catch {
    return null;
  }
}

/** Removes `path` only while it is still the socket with inode `ino` (ours, not a successor's). */
export async function unlinkIfOurs(path: string, ino: number | null): Promise<void> {
  if (ino === null || (await socketInode(path)) !== ino) return;
  await unlink(path).catch(() => undefined);
}
