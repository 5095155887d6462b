import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FsSpace } from '../../../src/shared/disk-full.js';
import { ErrorCodes } from '../../../src/shared/errors.js';
import type { JobSpec, WorkerMessage } from '../../../src/shared/protocol.js';
import { DiskWatch, statSpace } from '../../../src/workers/disk-watch.js';
import { JobRunner } from '../../../src/workers/job-runner.js';
import { MemoryEngine } from '../../fixtures/memory-engine.js';

const MiB = 1024 * 1024;
const space = (availBytes: number, sizeBytes = 64 * MiB): FsSpace => ({
  availBytes,
  sizeBytes,
  freeInodes: 1000,
  inodes: 4096,
});

describe('DiskWatch', () => {
  it('names the first watched filesystem that is full', async () => {
    const spaces: Record<string, FsSpace> = { '/ws': space(40 * MiB), '/state': space(100 * 1024) };
    const watch = new DiskWatch(['/ws', '/state'], async (p) => spaces[p]!);
    expect(await watch.check()).toEqual({ path: '/state', ...spaces['/state'] });
    spaces['/state'] = space(10 * MiB);
    expect(await watch.check()).toBeNull();
  });

  it('skips a path it cannot read (a removed workspace is not a full one)', async () => {
    const watch = new DiskWatch(['/gone', '/ws'], async (p) => {
      if (p === '/gone') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return space(0);
    });
    expect((await watch.check())?.path).toBe('/ws');
  });

  it('reads real free space with statfs', async () => {
    const s = await statSpace(tmpdir());
    expect(s.sizeBytes).toBeGreaterThan(0);
    expect(s.availBytes).toBeGreaterThan(0);
    expect(s.availBytes).toBeLessThanOrEqual(s.sizeBytes);
  });
});

describe('JobRunner: a full disk stops the job', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function runWith(
    avail: () => number,
  ): Promise<{ outcome: Awaited<ReturnType<JobRunner['run']>>; engine: MemoryEngine; logs: string[] }> {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-disk-watch-'));
    const init = JSON.stringify({ type: 'system', subtype: 'init', session_id: 's', model: 'm' });
    const engine = new MemoryEngine({ script: () => [{ print: init }, { hang: true }] });
    const spec: JobSpec = {
      jobId: 'job-1',
      sessionId: 'sess-1',
      mode: 'run',
      runtime: { kind: 'podman', command: 'podman', globalArgs: [] },
      containerName: 'claude-pod-job-1',
      container: {
        name: 'claude-pod-job-1',
        image: 'img',
        labels: {},
        memory: '512m',
        cpus: '1',
        pidsLimit: 64,
        tmpfsSize: '64m',
        network: 'none',
        apparmorProfile: '',
        user: '1000:1000',
        mounts: [],
        env: {},
        secretEnv: {},
        workdir: '/workspace',
        command: ['claude'],
      },
      outputPath: join(dir, 'output.jsonl'),
      maxOutputSize: 0,
      diskPaths: ['/ws/sess-1'],
      // A job the disk watch failed to stop ends on its idle timer instead.
      startupTimeoutSeconds: 2,
      idleTimeoutSeconds: 2,
      metricsIntervalMs: 20,
      cancelGraceMs: 100,
      progressIntervalMs: 50,
      image: 'img',
    };
    const logs: string[] = [];
    const runner = new JobRunner(
      spec,
      (m: WorkerMessage) => {
        if (m.type === 'ready') runner.handle({ type: 'launch', jobId: 'job-1' });
        if (m.type === 'log') logs.push(m.msg);
      },
      { engine, diskStat: async () => space(avail()) },
    );
    const outcome = await runner.run();
    engine.dispose();
    return { outcome, engine, logs };
  }

  it('kills the container at the metrics sample that finds the workspace full: DISK_QUOTA', async () => {
    let samples = 0;
    // Room at first, then full from the third sample on.
    const { outcome, engine, logs } = await runWith(() => (++samples < 3 ? 32 * MiB : 200 * 1024));
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe(ErrorCodes.DISK_QUOTA);
    expect(outcome.error?.message).toBe(
      'disk_quota - /ws/sess-1 is full (0.2 MiB of 64.0 MiB free); the job was stopped',
    );
    expect(logs).toContain('/ws/sess-1 is full: killing the container');
    expect(engine.calls.some((c) => c.verb === 'remove')).toBe(true);
    expect(samples).toBeGreaterThanOrEqual(3);
  });
});
