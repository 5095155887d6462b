/**
 * A size-limited directory: a sparse ext4 image file loop-mounted on it. The image is allocated
 * as it fills, so a quota costs the host only what is used; writing past it gives ENOSPC inside
 * the filesystem and nothing outside it. The kernel holds the mount (and its loop device, cleared
 * on unmount), so it outlives a crash of the process that made it; after a host reboot the image
 * is mounted again on first use, its contents intact (ext4's journal replays a torn write).
 *
 * Only root can do this (mount, mkfs on a file): see disk-support.ts.
 */
import { chmod, mkdir, open, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { findExecutable } from '../runtime/detect.js';
import { diskQuota } from '../shared/errors.js';
import { loopBackingFile, mountAt } from './mountinfo.js';

/** Runs a system command; rejects with its stderr when it fails. */
export type Exec = (file: string, args: string[]) => Promise<void>;

export const execCommand: Exec = async (file, args) => {
  // mkfs.ext4, mount and umount live in sbin, which a service's PATH may lack.
  const command = (await findExecutable(file)) ?? file;
  const r = await execa(command, args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  if (r.exitCode !== 0) {
    const why = String(r.stderr || r.stdout || r.shortMessage)
      .trim()
      .split('\n')
      .slice(-2)
      .join(' | ');
    throw new Error(`${file} ${args.join(' ')}: ${why}`);
  }
};

export interface LoopDisk {
  /** The image file: outside every directory a container sees. */
  image: string;
  /** Where it is mounted (the workspace, the Claude state directory). */
  mountPoint: string;
}

/** `created`: a new image; `mounted`: an existing one mounted again (after a reboot); `present`: already mounted. */
export type EnsureResult = 'created' | 'mounted' | 'present' | 'not-empty';

export const MOUNT_OPTIONS = 'loop,nosuid,nodev,noatime';

/** Is `disk.mountPoint` a mount of `disk.image`? Throws when something else is mounted there. */
export async function isMounted(disk: LoopDisk): Promise<boolean> {
  // mountinfo and the loop device name canonical paths.
  const entry = await mountAt(await canonical(disk.mountPoint));
  if (!entry) return false;
  const backing = await loopBackingFile(entry.source);
  if (backing !== null && backing === (await canonical(disk.image))) return true;
  throw diskQuota(
    `${disk.mountPoint} is already a mount of ${entry.source}, not of its image ${disk.image}`,
    {
      mountPoint: disk.mountPoint,
      source: entry.source,
    },
  );
}

/**
 * Makes `mountPoint` a size-limited filesystem of `sizeBytes`, idempotently: present → nothing;
 * image but no mount (a host reboot) → mount it; neither → a new image, owned by `owner`, as long
 * as the directory is empty (files already there would be hidden: `not-empty`, nothing done).
 */
export async function ensureLoopDisk(
  disk: LoopDisk,
  sizeBytes: number,
  owner: { uid: number; gid: number },
  exec: Exec = execCommand,
): Promise<EnsureResult> {
  if (await isMounted(disk)) return 'present';
  await mkdir(disk.mountPoint, { recursive: true, mode: 0o700 });
  if (await exists(disk.image)) {
    await exec('mount', ['-o', MOUNT_OPTIONS, disk.image, disk.mountPoint]);
    return 'mounted';
  }
  if ((await readdir(disk.mountPoint)).length > 0) return 'not-empty';
  // Made under another name and renamed: an image file that exists is always a whole filesystem.
  const partial = `${disk.image}.new`;
  await rm(partial, { force: true });
  const file = await open(partial, 'wx', 0o600);
  try {
    await file.truncate(sizeBytes);
  } finally {
    await file.close();
  }
  await exec('mkfs.ext4', [
    '-q',
    '-F',
    // No blocks reserved for root: the container's user may use all of it.
    '-m',
    '0',
    // One inode per 8 KiB (node_modules-like trees of small files), about 3% of the image.
    '-i',
    '8192',
    '-E',
    `root_owner=${owner.uid}:${owner.gid},nodiscard,lazy_itable_init=1,lazy_journal_init=1`,
    partial,
  ]);
  await rename(partial, disk.image);
  await exec('mount', ['-o', MOUNT_OPTIONS, disk.image, disk.mountPoint]);
  // mkfs's lost+found would show up in the workspace; e2fsck makes it again if it ever needs it.
  await rmdir(`${disk.mountPoint}/lost+found`).catch(() => undefined);
  await chmod(disk.mountPoint, 0o700);
  return 'created';
}

/**
 * Unmounts it (a busy mount is detached lazily: it is released once its last user is gone).
 * The image file itself is left to the caller. Returns whether a mount was released.
 */
export async function releaseLoopDisk(disk: LoopDisk, exec: Exec = execCommand): Promise<boolean> {
  if (!(await isMounted(disk))) return false;
  try {
    await exec('umount', [disk.mountPoint]);
  } catch {
    await exec('umount', ['--lazy', disk.mountPoint]);
  }
  return true;
}

const canonical = (path: string): Promise<string> => realpath(path).catch(() => path);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
