/**
 * A directory of this host as a tar stream for a remote engine's volume, and a tar stream from
 * one back into a directory of this host. What comes back was written by a job's container and
 * is treated as hostile: only regular files, directories and symbolic links that stay inside
 * the directory are extracted (no devices, fifos or hard links, no set-uid bits), into a fresh
 * directory that then replaces the old one, so nothing is ever written through a link.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, chmod } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, basename } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';

/** The container user every job runs as; volume files must be its to write. */
export const CONTAINER_UID = 1000;
export const CONTAINER_GID = 1000;

/** `dir` as a tar stream whose entries belong to the container user. */
/** The fields of a tar header we read or set (tar-stream's, as tar-fs hands them over). */
interface Header {
  name: string;
  type?: string | null;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  linkname?: string | null;
}

export function packDir(dir: string, opts: { keepModes?: boolean } = {}): Readable {
  // tar-fs hands out a streamx stream; the engines' clients take a Node one.
  const out = new PassThrough();
  const pack = tarFs.pack(dir, {
    dereference: false,
    map: (h) => {
      const header = h as Header;
      header.uid = CONTAINER_UID;
      header.gid = CONTAINER_GID;
      header.uname = 'agent';
      header.gname = 'agent';
      if (!opts.keepModes) header.mode = (header.mode ?? 0o644) & 0o777;
      return h;
    },
  });
  pack.on('error', (error: Error) => out.destroy(error));
  pack.pipe(out);
  return out;
}

/** Whether a symbolic link at `entryPath` (inside `root`) pointing at `target` stays inside `root`. */
export function linkStaysInside(root: string, entryPath: string, target: string): boolean {
  if (isAbsolute(target)) return false;
  const rel = relative(root, resolve(dirname(entryPath), target));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Whether `dir` is the root of a filesystem mounted there (a session's size-limited disk). */
async function isMountPoint(dir: string): Promise<boolean> {
  const [self, parent] = await Promise.all([
    lstat(dir).catch(() => null),
    lstat(dirname(dir)).catch(() => null),
  ]);
  return self !== null && parent !== null && self.dev !== parent.dev;
}

/**
 * Replaces `hostDir` with what the tar stream holds (its mode is kept). The new content is
 * extracted next to it and swapped in by rename, so a reader sees the old or the new tree. A
 * `hostDir` that is a mount point (a session's size-limited disk image) cannot be renamed: the
 * content is extracted into a hidden directory inside it (on that disk, within its limit) and
 * swapped in entry by entry.
 */
export async function extractReplacing(tar: Readable, hostDir: string): Promise<{ skipped: number }> {
  const suffix = randomBytes(4).toString('hex');
  const mounted = await isMountPoint(hostDir);
  const incoming = mounted
    ? join(hostDir, `.cpod-in-${suffix}`)
    : join(dirname(hostDir), `.${basename(hostDir)}.cpod-in-${suffix}`);
  const old = join(dirname(hostDir), `.${basename(hostDir)}.cpod-old-${suffix}`);
  let skipped = 0;
  await mkdir(incoming, { mode: 0o700 });
  try {
    await pipeline(
      tar,
      tarFs.extract(incoming, {
        readable: true,
        writable: true,
        ignore: (name, h) => {
          const header = h as Header | undefined;
          if (!header) return false;
          const ok =
            header.type === 'file' ||
            header.type === 'directory' ||
            (header.type === 'symlink' && linkStaysInside(incoming, name, header.linkname ?? '/'));
          if (!ok) skipped++;
          return !ok;
        },
        map: (h) => {
          const header = h as Header;
          header.mode = (header.mode ?? 0o644) & 0o777;
          return h;
        },
      }),
    );
    if (mounted) {
      await swapEntries(hostDir, incoming);
      return { skipped };
    }
    const mode = await lstat(hostDir).then(
      (s) => s.mode & 0o777,
      () => 0o700,
    );
    await chmod(incoming, mode);
    await rename(hostDir, old).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(incoming, hostDir);
  } catch (error) {
    await rm(incoming, { recursive: true, force: true });
    throw error;
  }
  await rm(old, { recursive: true, force: true });
  return { skipped };
}

/** Replaces every entry of `dir` (but `incoming`, inside it) with `incoming`'s, then removes it. */
async function swapEntries(dir: string, incoming: string): Promise<void> {
  const keep = basename(incoming);
  for (const name of await readdir(dir)) {
    if (name !== keep) await rm(join(dir, name), { recursive: true, force: true });
  }
  for (const name of await readdir(incoming)) await rename(join(incoming, name), join(dir, name));
  await rm(incoming, { recursive: true, force: true });
}
