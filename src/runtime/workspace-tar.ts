/**
 * A directory of this host as a tar stream for a remote engine's volume, and a tar stream from
 * one back into a directory of this host. What comes back was written by a job's container and
 * is treated as hostile: only regular files, directories and symbolic links that stay inside
 * the directory are extracted (no devices, fifos or hard links, no set-uid bits), into a fresh
 * directory that then replaces the old one, so nothing is ever written through a link.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm, chmod } from 'node:fs/promises';
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

/**
 * Replaces `hostDir` with what the tar stream holds (its mode is kept). The new content is
 * extracted next to it and swapped in by rename, so a reader sees the old or the new tree.
 */
export async function extractReplacing(tar: Readable, hostDir: string): Promise<{ skipped: number }> {
  const suffix = randomBytes(4).toString('hex');
  const incoming = join(dirname(hostDir), `.${basename(hostDir)}.cpod-in-${suffix}`);
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
