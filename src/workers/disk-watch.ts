import { statfs } from 'node:fs/promises';
import { isFull, type FsSpace } from '../shared/disk-full.js';

/** A watched filesystem found full. */
export interface DiskFull extends FsSpace {
  path: string;
}

export type StatSpace = (path: string) => Promise<FsSpace>;

/** One statfs(2): no process is started, so it is cheap enough for every metrics sample. */
export const statSpace: StatSpace = async (path) => {
  const s = await statfs(path);
  return {
    availBytes: s.bavail * s.bsize,
    sizeBytes: s.blocks * s.bsize,
    freeInodes: s.ffree,
    inodes: s.files,
  };
};

/**
 * Watches the filesystems a job writes that persist (its workspace, Claude's state): on a
 * size-limited one, full means its quota is hit; on the host's own, that the host's disk is
 * running out. Either way the job must stop (see disk-full.ts for when a filesystem is full).
 */
export class DiskWatch {
  constructor(
    private readonly paths: readonly string[],
    private readonly stat: StatSpace = statSpace,
  ) {}

  /** The first watched filesystem that is full, or null. One that cannot be read is skipped. */
  async check(): Promise<DiskFull | null> {
    for (const path of this.paths) {
      const space = await this.stat(path).catch(() => null);
      if (space && isFull(space)) return { path, ...space };
    }
    return null;
  }
}
