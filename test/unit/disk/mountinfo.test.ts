import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loopBackingFile, mountAt, parseMountinfo } from '../../../src/disk/mountinfo.js';

const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '301 22 7:3 / /srv/work\\040spaces/sess-1 rw,nosuid,nodev,noatime shared:150 - ext4 /dev/loop3 rw',
  '302 22 0:55 / /srv/other rw - tmpfs tmpfs rw,size=1024k',
  '303 301 7:4 / /srv/work\\040spaces/sess-1 rw shared:151 - ext4 /dev/loop4 rw',
  '',
].join('\n');

describe('mountinfo', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('parses mount points (unescaping \\040), types and sources', () => {
    expect(parseMountinfo(MOUNTINFO)).toEqual([
      { mountPoint: '/', fsType: 'ext4', source: '/dev/vda' },
      { mountPoint: '/srv/work spaces/sess-1', fsType: 'ext4', source: '/dev/loop3' },
      { mountPoint: '/srv/other', fsType: 'tmpfs', source: 'tmpfs' },
      { mountPoint: '/srv/work spaces/sess-1', fsType: 'ext4', source: '/dev/loop4' },
    ]);
  });

  it('finds the topmost mount at exactly a path, and nothing under or above it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-mountinfo-'));
    await writeFile(join(dir, 'mountinfo'), MOUNTINFO);
    expect(await mountAt('/srv/work spaces/sess-1', join(dir, 'mountinfo'))).toMatchObject({
      source: '/dev/loop4',
    });
    expect(await mountAt('/srv/work spaces', join(dir, 'mountinfo'))).toBeNull();
    expect(await mountAt('/srv/other/x', join(dir, 'mountinfo'))).toBeNull();
  });

  it("reads a loop device's backing file from sysfs; not for other devices, nor a deleted file", async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-mountinfo-'));
    await mkdir(join(dir, 'loop3', 'loop'), { recursive: true });
    await writeFile(join(dir, 'loop3', 'loop', 'backing_file'), `${dir}/img\n`);
    await writeFile(join(dir, 'img'), '');
    expect(await loopBackingFile('/dev/loop3', dir)).toBe(join(dir, 'img'));
    expect(await loopBackingFile('/dev/vda', dir)).toBeNull();
    expect(await loopBackingFile('/dev/loop9', dir)).toBeNull();
    await writeFile(join(dir, 'loop3', 'loop', 'backing_file'), `${dir}/img (deleted)\n`);
    expect(await loopBackingFile('/dev/loop3', dir)).toBeNull();
  });
});
