import { access, constants } from 'node:fs/promises';
import { findExecutable } from '../runtime/detect.js';

export type DiskSupport = { enforced: true } | { enforced: false; why: string };

/**
 * Whether this process can make size-limited filesystems (loop-mounted ext4 images): it must be
 * root (mount), with mkfs.ext4, mount and umount installed and loop devices available. A rootless
 * setup cannot, so there workspaces are plain directories and only the host's own free space is
 * watched (see disk-full.ts).
 */
export async function diskSupport(
  uid: number | undefined = process.getuid?.(),
  loopControl = '/dev/loop-control',
): Promise<DiskSupport> {
  if (uid !== 0) return { enforced: false, why: 'not running as root: only root can loop-mount an image' };
  for (const tool of ['mkfs.ext4', 'mount', 'umount']) {
    if (!(await findExecutable(tool)))
      return { enforced: false, why: `${tool} is not installed (e2fsprogs, mount)` };
  }
  try {
    await access(loopControl, constants.W_OK);
  } catch {
    return { enforced: false, why: `${loopControl} is missing: no loop devices on this host` };
  }
  return { enforced: true };
}

let cached: Promise<DiskSupport> | null = null;

/** `diskSupport()` for this process, asked once. */
export function processDiskSupport(): Promise<DiskSupport> {
  return (cached ??= diskSupport());
}
