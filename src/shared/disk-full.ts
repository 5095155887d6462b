/**
 * When a filesystem counts as full, for the job runner (which fails the job with DISK_QUOTA) and
 * doctor alike: less free space than 1% of its size (at least 1 MiB, at most 256 MiB), or fewer
 * free inodes than 1% of them (at least 16). On a session's own size-limited filesystem this is
 * its quota being hit; on the host's filesystem (where quotas are not enforced) it is the host's
 * disk running out, which must stop the job just the same.
 */
export interface FsSpace {
  /** Bytes an unprivileged writer can still use (statfs f_bavail × f_bsize). */
  availBytes: number;
  sizeBytes: number;
  /** Free inodes (f_ffree); filesystems without a fixed inode count report 0 inodes. */
  freeInodes: number;
  inodes: number;
}

const MiB = 1024 * 1024;

export function reserveBytes(sizeBytes: number): number {
  return Math.min(256 * MiB, Math.max(MiB, Math.floor(sizeBytes / 100)));
}

export function isFull(space: FsSpace): boolean {
  if (space.availBytes < reserveBytes(space.sizeBytes)) return true;
  return space.inodes > 0 && space.freeInodes < Math.max(16, Math.floor(space.inodes / 100));
}
