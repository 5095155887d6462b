import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { choiceForKey } from '../../../../src/cli/live/interrupt.js';
import { changedFiles } from '../../../../src/cli/live/workspace-changes.js';

describe('changedFiles', () => {
  let dir: string;
  const old = new Date('2020-01-01T00:00:00Z');
  const since = Date.parse('2021-01-01T00:00:00Z');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-ws-'));
    await mkdir(join(dir, 'src'));
    await mkdir(join(dir, '.git'));
    for (const [name, time] of [
      ['untouched.txt', old],
      ['new.txt', null],
      ['src/edited.ts', null],
      ['.git/index', null],
    ] as const) {
      await writeFile(join(dir, name), 'x');
      if (time) await utimes(join(dir, name), time, time);
    }
    await symlink('/etc', join(dir, 'link-to-etc'));
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('lists files modified since the start, skipping .git and never following symlinks', async () => {
    expect(await changedFiles(dir, since)).toEqual({
      workspaceDir: dir,
      files: ['new.txt', 'src/edited.ts'],
      more: 0,
    });
  });

  it('caps the list and counts the rest', async () => {
    expect(await changedFiles(dir, since, { limit: 1 })).toMatchObject({ files: ['new.txt'], more: 1 });
  });

  it('null for a workspace that does not exist', async () => {
    expect(await changedFiles(join(dir, 'nope'), since)).toBeNull();
  });
});

describe('Ctrl-C question', () => {
  it('c (or a second Ctrl-C) cancels, d detaches, anything else keeps watching', () => {
    expect(['c', 'C', '\x03', 'd', 'D', '\r', 'x'].map(choiceForKey)).toEqual([
      'cancel',
      'cancel',
      'cancel',
      'detach',
      'detach',
      'resume',
      'resume',
    ]);
  });
});
