/**
 * Ended jobs leave the registry document for files of their own, so a write costs O(sessions and
 * unfinished jobs); the next supervisor reads them back.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobRecord, RegistryState } from '../../../src/supervisor/records.js';
import {
  atomicWriter,
  loadRegistry,
  RegistryFile,
  type RegistryWriter,
} from '../../../src/supervisor/registry-file.js';
import { statePaths, type StatePaths } from '../../../src/supervisor/state-paths.js';
import { queuedJob, sessionRecord as session } from '../../fixtures/job-record.js';

const ended = (jobId: string, notified: boolean): JobRecord =>
  queuedJob(jobId, { phase: 'ended', status: 'completed', exitCode: 0, endedAt: 5, notified });

let dir: string;
let paths: StatePaths;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claude-pod-settled-'));
  paths = statePaths(join(dir, 'sessions'), join(dir, 'ws'));
  await mkdir(paths.sessionsDir, { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fileFor(state: () => RegistryState, writer: RegistryWriter = atomicWriter): RegistryFile {
  return new RegistryFile(paths.registry, state, writer, undefined, [1], (job) =>
    paths.jobRecord(job.sessionId, job.jobId),
  );
}

const documentJobs = async () =>
  Object.keys((JSON.parse(await readFile(paths.registry, 'utf8')) as RegistryState).jobs).sort();

describe('settled jobs in files of their own', () => {
  it('the document keeps only unfinished jobs; loading gives back every job, equal', async () => {
    const state: RegistryState = {
      version: 2,
      sessions: { 'sess-1': session('sess-1', ['job-a', 'job-b', 'job-c']) },
      jobs: {
        'job-a': queuedJob('job-a', { phase: 'running', status: 'running' }),
        'job-b': ended('job-b', false),
        'job-c': ended('job-c', true),
      },
    };
    await fileFor(() => state).now();
    expect(await documentJobs()).toEqual(['job-a']);
    expect(JSON.parse(await readFile(paths.jobRecord('sess-1', 'job-b'), 'utf8'))).toEqual(
      state.jobs['job-b'],
    );
    expect(JSON.parse(await readFile(paths.jobRecord('sess-1', 'job-c'), 'utf8'))).toEqual(
      state.jobs['job-c'],
    );
    const { state: loaded, dropped } = await loadRegistry(paths);
    expect(dropped).toEqual([]);
    expect(loaded).toEqual(state);
  });

  it('an ended job is written once, and again only when its record changes (notified)', async () => {
    const state: RegistryState = {
      version: 2,
      sessions: { 'sess-1': session('sess-1', ['job-c']) },
      jobs: { 'job-c': ended('job-c', true) },
    };
    const written: string[] = [];
    const file = fileFor(
      () => state,
      (path, data) => {
        written.push(path);
        return atomicWriter(path, data);
      },
    );
    await file.now();
    await file.now();
    await file.now();
    expect(written.filter((p) => p.endsWith('job.json'))).toHaveLength(1);
    expect(written.filter((p) => p === paths.registry)).toHaveLength(3);
    state.jobs['job-c'] = { ...state.jobs['job-c']!, notified: false };
    await file.now();
    expect(written.filter((p) => p.endsWith('job.json'))).toHaveLength(2);
    expect((await loadRegistry(paths)).state.jobs['job-c']?.notified).toBe(false);
  });

  it('a crash between the two writes: the own file (ended) wins over the older entry in the document', async () => {
    const newer = ended('job-c', true);
    await mkdir(dirname(paths.jobRecord('sess-1', 'job-c')), { recursive: true });
    await writeFile(paths.jobRecord('sess-1', 'job-c'), JSON.stringify(newer));
    const older: RegistryState = {
      version: 2,
      sessions: { 'sess-1': session('sess-1', ['job-c']) },
      jobs: { 'job-c': ended('job-c', false) },
    };
    await writeFile(paths.registry, JSON.stringify(older));
    const { state } = await loadRegistry(paths);
    expect(state.jobs['job-c']).toEqual(newer);
  });

  it('a registry from before (ended jobs inline) loads whole; its first write moves them out', async () => {
    const before: RegistryState = {
      version: 2,
      sessions: { 'sess-1': session('sess-1', ['job-c']) },
      jobs: { 'job-c': ended('job-c', true) },
    };
    await writeFile(paths.registry, JSON.stringify(before));
    const { state } = await loadRegistry(paths);
    expect(state).toEqual(before);
    await fileFor(() => state).now();
    expect(await documentJobs()).toEqual([]);
    expect((await loadRegistry(paths)).state).toEqual(before);
  });

  it('a job whose own file is gone (and not in the document) is dropped, and its session no longer lists it', async () => {
    const doc: RegistryState = {
      version: 2,
      sessions: { 'sess-1': session('sess-1', ['job-x', 'job-a']) },
      jobs: { 'job-a': queuedJob('job-a') },
    };
    await writeFile(paths.registry, JSON.stringify(doc));
    const { state, dropped } = await loadRegistry(paths);
    expect(dropped).toEqual([expect.stringContaining('job-x')]);
    expect(state.sessions['sess-1']!.jobIds).toEqual(['job-a']);
  });

  it('a garbled or foreign own file is not taken', async () => {
    await mkdir(dirname(paths.jobRecord('sess-1', 'job-c')), { recursive: true });
    await writeFile(paths.jobRecord('sess-1', 'job-c'), '{"jobId":"job-c", trunc');
    await mkdir(dirname(paths.jobRecord('sess-1', 'job-d')), { recursive: true });
    await writeFile(
      paths.jobRecord('sess-1', 'job-d'),
      JSON.stringify({ ...ended('job-d', true), sessionId: 'other' }),
    );
    await writeFile(
      paths.registry,
      JSON.stringify({ version: 2, sessions: { 'sess-1': session('sess-1', ['job-c', 'job-d']) }, jobs: {} }),
    );
    const { state, dropped } = await loadRegistry(paths);
    expect(state.jobs).toEqual({});
    expect(dropped).toHaveLength(2);
  });

  it('the document stays the same size however many jobs have ended', async () => {
    const state: RegistryState = { version: 2, sessions: { 'sess-1': session('sess-1', []) }, jobs: {} };
    const file = fileFor(() => state);
    const sizes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const id = `job-${i}`;
      state.jobs[id] = ended(id, true);
      state.sessions['sess-1'] = {
        ...state.sessions['sess-1']!,
        jobIds: [...state.sessions['sess-1']!.jobIds, id],
      };
      await file.now();
      if (i === 9 || i === 49) sizes.push((await stat(paths.registry)).size);
    }
    // Only the session's list of job ids grows (a few bytes a job), not the jobs themselves.
    expect(sizes[1]! - sizes[0]!).toBeLessThan(40 * 12);
    expect(existsSync(paths.jobRecord('sess-1', 'job-49'))).toBe(true);
  });
});
