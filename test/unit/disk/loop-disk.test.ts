import { mkdtemp, mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { diskSupport } from '../../../src/disk/disk-support.js';
import {
  ensureLoopDisk,
  isMounted,
  releaseLoopDisk,
  type Exec,
  type LoopDisk,
} from '../../../src/disk/loop-disk.js';
import { loopDevicesUnder, releaseDisksUnder } from '../../fixtures/disks.js';

const MiB = 1024 * 1024;
const owner = { uid: 1000, gid: 1000 };

describe('ensureLoopDisk (commands recorded, nothing mounted)', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setup(): Promise<{ disk: LoopDisk; calls: string[][]; exec: Exec }> {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-loop-'));
    const calls: string[][] = [];
    const exec: Exec = async (file, args) => {
      calls.push([file, ...args]);
    };
    return { disk: { image: join(dir, 'disk', 'ws.ext4'), mountPoint: join(dir, 'ws') }, calls, exec };
  }

  it('makes a sparse image of the size, formats it for the owner, then mounts it (nosuid, nodev)', async () => {
    const { disk, calls, exec } = await setup();
    await mkdir(join(dir, 'disk'));
    expect(await ensureLoopDisk(disk, 64 * MiB, owner, exec)).toBe('created');
    const partial = `${disk.image}.new`;
    expect(calls).toEqual([
      [
        'mkfs.ext4',
        '-q',
        '-F',
        '-m',
        '0',
        '-i',
        '8192',
        '-E',
        'root_owner=1000:1000,nodiscard,lazy_itable_init=1,lazy_journal_init=1',
        partial,
      ],
      ['mount', '-o', 'loop,nosuid,nodev,noatime', disk.image, disk.mountPoint],
    ]);
    const image = await stat(disk.image);
    expect(image.size).toBe(64 * MiB);
    expect(image.blocks).toBe(0); // sparse: the host pays only for what is written
    expect(image.mode & 0o777).toBe(0o600);
    await expect(stat(partial)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('mounts an existing image again without formatting it (after a host reboot)', async () => {
    const { disk, calls, exec } = await setup();
    await mkdir(join(dir, 'disk'));
    await writeFile(disk.image, 'an ext4 image');
    expect(await ensureLoopDisk(disk, 64 * MiB, owner, exec)).toBe('mounted');
    expect(calls.map((c) => c[0])).toEqual(['mount']);
  });

  it('never hides files: a directory that already holds some and has no image is left alone', async () => {
    const { disk, calls, exec } = await setup();
    await mkdir(join(dir, 'disk'));
    await mkdir(disk.mountPoint);
    await writeFile(join(disk.mountPoint, 'mine.txt'), 'x');
    expect(await ensureLoopDisk(disk, 64 * MiB, owner, exec)).toBe('not-empty');
    expect(calls).toEqual([]);
    await expect(stat(disk.image)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves no image when formatting fails, and formats afresh next time', async () => {
    const { disk, exec } = await setup();
    await mkdir(join(dir, 'disk'));
    const failing: Exec = async (file) => {
      if (file === 'mkfs.ext4') throw new Error('mkfs.ext4: no space left');
    };
    await expect(ensureLoopDisk(disk, 64 * MiB, owner, failing)).rejects.toThrow(/no space left/);
    await expect(stat(disk.image)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await ensureLoopDisk(disk, 64 * MiB, owner, exec)).toBe('created');
  });
});

const support = await diskSupport();

describe.skipIf(!support.enforced)(
  `a real loop-mounted image${support.enforced ? '' : ` [skipped: ${support.why}]`}`,
  () => {
    let dir = '';
    afterEach(async () => {
      if (!dir) return;
      await releaseDisksUnder(dir);
      await rm(dir, { recursive: true, force: true });
    });

    it('is size-limited, idempotent, and released with no loop device left', async () => {
      dir = await mkdtemp(join(tmpdir(), 'claude-pod-loop-real-'));
      await mkdir(join(dir, 'disk'));
      const disk = { image: join(dir, 'disk', 'ws.ext4'), mountPoint: join(dir, 'ws') };
      expect(await ensureLoopDisk(disk, 16 * MiB, owner)).toBe('created');
      expect(await isMounted(disk)).toBe(true);
      expect(await ensureLoopDisk(disk, 16 * MiB, owner)).toBe('present');
      // mkfs's lost+found is gone; the root is the owner's, 0700.
      expect(await readdir(disk.mountPoint)).toEqual([]);
      const root = await stat(disk.mountPoint);
      expect([root.uid, root.mode & 0o777]).toEqual([1000, 0o700]);
      // Writing past the size: ENOSPC inside, nothing outside.
      const file = await open(join(disk.mountPoint, 'fill'), 'w');
      const chunk = Buffer.alloc(MiB, 1);
      let written = 0;
      const error = await (async () => {
        for (let i = 0; i < 64; i++) written += (await file.write(chunk)).bytesWritten;
      })().catch((e: NodeJS.ErrnoException) => e);
      await file.close();
      expect(error).toMatchObject({ code: 'ENOSPC' });
      expect(written).toBeLessThan(16 * MiB);
      expect((await stat(disk.image)).blocks * 512).toBeLessThanOrEqual(16 * MiB);
      expect(await loopDevicesUnder(dir)).toHaveLength(1);
      expect(await releaseLoopDisk(disk)).toBe(true);
      expect(await isMounted(disk)).toBe(false);
      expect(await loopDevicesUnder(dir)).toEqual([]);
      expect(await releaseLoopDisk(disk)).toBe(false);
      // The data is in the image: mounted again, the file is back.
      expect(await ensureLoopDisk(disk, 16 * MiB, owner)).toBe('mounted');
      expect(await readdir(disk.mountPoint)).toEqual(['fill']);
      expect(await releaseLoopDisk(disk)).toBe(true);
    });

    it('refuses a mount point that holds a mount of something else', async () => {
      dir = await mkdtemp(join(tmpdir(), 'claude-pod-loop-real-'));
      const disk = { image: join(dir, 'ws.ext4'), mountPoint: join(dir, 'ws') };
      await mkdir(disk.mountPoint);
      await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk.mountPoint]);
      await expect(ensureLoopDisk(disk, 16 * MiB, owner)).rejects.toMatchObject({ code: 'DISK_QUOTA' });
    });
  },
);
