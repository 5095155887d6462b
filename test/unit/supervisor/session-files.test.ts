import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diskUsage, prepareSessionDirs, removeSessionFiles } from '../../../src/supervisor/session-files.js';
import { statePaths } from '../../../src/supervisor/state-paths.js';
import { mountsUnder } from '../../fixtures/disks.js';

const MiB = 1024 * 1024;

describe('session files without size limits', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts the bytes a sparse image really takes, not its size', async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-files-'));
    const image = await open(join(dir, 'disk.ext4'), 'w');
    await image.truncate(1024 * MiB);
    await image.write(Buffer.alloc(MiB, 1), 0, MiB, 0);
    await image.close();
    await writeFile(join(dir, 'small.txt'), 'x');
    const used = await diskUsage(dir);
    expect(used).toBeGreaterThanOrEqual(MiB);
    expect(used).toBeLessThan(2 * MiB);
    expect(await diskUsage(join(dir, 'disk.ext4'))).toBeLessThan(2 * MiB);
  });

  it('makes plain 0700 directories where limits cannot be enforced (a rootless runtime), and removes them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-files-'));
    const paths = statePaths(join(dir, 's'), join(dir, 'w'), {
      workspaceBytes: 64 * MiB,
      stateBytes: 32 * MiB,
    });
    await prepareSessionDirs(paths, 'sess-1', 'job-1', null);
    expect(await mountsUnder(dir)).toEqual([]);
    for (const d of [paths.workspace('sess-1'), paths.claudeDir('sess-1'), paths.jobDir('sess-1', 'job-1')])
      expect(((await stat(d)).mode & 0o777).toString(8)).toBe('700');
    await writeFile(join(paths.workspace('sess-1'), 'a.txt'), 'hello');
    const removed = await removeSessionFiles(paths, 'sess-1', true);
    expect(removed.workspaceDeleted).toBe(true);
    expect(removed.bytesFreed).toBeGreaterThan(0);
    expect(await readdir(join(dir, 'w'))).toEqual([]);
  });
});
