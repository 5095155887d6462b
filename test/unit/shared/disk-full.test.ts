import { describe, expect, it } from 'vitest';
import { isFull, reserveBytes } from '../../../src/shared/disk-full.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('when a filesystem is full', () => {
  it('keeps 1% of it free, at least 1 MiB and at most 256 MiB', () => {
    expect(reserveBytes(64 * MiB)).toBe(MiB);
    expect(reserveBytes(4 * GiB)).toBe(Math.floor((4 * GiB) / 100));
    expect(reserveBytes(250 * GiB)).toBe(256 * MiB);
  });

  it('is full below the reserve of space or of inodes', () => {
    const fs = { sizeBytes: 4 * GiB, availBytes: GiB, inodes: 524288, freeInodes: 500000 };
    expect(isFull(fs)).toBe(false);
    expect(isFull({ ...fs, availBytes: 40 * MiB })).toBe(true);
    expect(isFull({ ...fs, availBytes: 41 * MiB })).toBe(false);
    expect(isFull({ ...fs, freeInodes: 5000 })).toBe(true);
    // The host's big disk: 256 MiB left is the end of the road.
    expect(isFull({ ...fs, sizeBytes: 250 * GiB, availBytes: 255 * MiB })).toBe(true);
    // A filesystem with no fixed inode count (btrfs, some FUSE) reports 0 inodes.
    expect(isFull({ ...fs, inodes: 0, freeInodes: 0 })).toBe(false);
  });
});
