/**
 * One thread's actor host (on this thread, with the in-memory engine): each job has its own
 * port, and the progress of all its jobs leaves as one message per tick.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostReport, JobSpec, WorkerMessage } from '../../../src/shared/protocol.js';
import { ActorHost, type JobPort } from '../../../src/workers/actor-host.js';
import { defaultScript, MemoryEngine, type Step } from '../../fixtures/memory-engine.js';

function spec(dir: string, jobId: string): JobSpec {
  return {
    jobId,
    sessionId: `s-${jobId}`,
    mode: 'run',
    runtime: { kind: 'podman', command: '/bin/false', globalArgs: [] },
    containerName: `claude-pod-${jobId}`,
    container: {
      name: `claude-pod-${jobId}`,
      image: 'img',
      labels: {},
      memory: '1g',
      cpus: '1',
      pidsLimit: 64,
      tmpfsSize: '1m',
      network: 'none',
      apparmorProfile: '',
      user: '1000:1000',
      mounts: [],
      env: {},
      secretEnv: {},
      workdir: '/',
      command: ['claude'],
      stdin: jobId,
    },
    outputPath: join(dir, `${jobId}.jsonl`),
    maxOutputSize: 0,
    startupTimeoutSeconds: 30,
    idleTimeoutSeconds: 30,
    metricsIntervalMs: 60_000,
    cancelGraceMs: 100,
    progressIntervalMs: 30,
    image: 'img',
  };
}

/** A job's port, driven as the supervisor would: launch on ready. */
function port(): JobPort & { seen: WorkerMessage[] } {
  let handler: (raw: unknown) => void = () => undefined;
  const seen: WorkerMessage[] = [];
  return {
    seen,
    post(message) {
      seen.push(message);
      if (message.type === 'ready') queueMicrotask(() => handler({ type: 'launch', jobId: message.jobId }));
    },
    onMessage: (h) => (handler = h),
    close: () => undefined,
  };
}

describe('ActorHost', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-host-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("sends its jobs' progress as one message per tick, each job's own messages on its own port", async () => {
    const [init, , text, result] = defaultScript();
    const script: Step[] = [init!];
    for (let i = 0; i < 15; i++) script.push(text!, { sleep: 10 });
    script.push(result!, { exit: 0 });
    const engine = new MemoryEngine({ script: () => script });
    const reports: HostReport[] = [];
    const host = new ActorHost((r) => reports.push(r), { engine });
    const ports = ['a', 'b', 'c'].map(() => port());
    const ended = Promise.all(
      ['a', 'b', 'c'].map(
        (id, i) =>
          new Promise<void>((resolve) => {
            const p = ports[i]!;
            const post = p.post.bind(p);
            p.post = (m) => {
              post(m);
              if (m.type === 'ended') resolve();
            };
            host.host(i + 1, spec(dir, id), p);
          }),
      ),
    );
    await ended;
    engine.dispose();
    const batches = reports.filter((r) => r.type === 'progressBatch');
    const settled = reports.filter((r) => r.type === 'settled');
    expect(settled.map((r) => r.key).sort()).toEqual([1, 2, 3]);
    expect(batches.length).toBeGreaterThan(1);
    // Jobs streaming together share a tick: most batches carry all three.
    const full = batches.filter((b) => b.entries.length === 3);
    expect(full.length).toBeGreaterThan(batches.length / 2);
    for (const b of batches) {
      expect(new Set(b.entries.map((e) => e.key)).size).toBe(b.entries.length);
      for (const e of b.entries)
        expect(e.message).toMatchObject({ type: 'progress', jobId: ['a', 'b', 'c'][e.key - 1] });
    }
    // No progress on the job's own port; its other messages there, in order.
    for (const p of ports) {
      expect(p.seen.some((m) => m.type === 'progress')).toBe(false);
      expect(p.seen.map((m) => m.type).filter((t) => t !== 'log')).toEqual([
        'ready',
        'launched',
        'started',
        'ended',
      ]);
    }
    expect(host.size).toBe(0);
  });
});
