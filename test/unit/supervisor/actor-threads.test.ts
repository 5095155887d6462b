/**
 * Several jobs per worker thread (real threads, the fake runtime): a job's huge line does not
 * stall its thread-mates, and a thread that dies takes down its own jobs only.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';
import type { JobOutcome, JobSpec, WorkerMessage } from '../../../src/shared/protocol.js';
import { JobPool } from '../../../src/supervisor/pool.js';
import { FAKE_RUNTIME, fakeStack } from './fake-runtime-stack.js';

const MiB = 1024 * 1024;

/** A job for the fake runtime, as the supervisor would hand it to the pool. */
function fakeJob(
  dir: string,
  name: string,
  env: Record<string, string>,
  progressIntervalMs: number,
): JobSpec {
  const containerName = `claude-pod-${name}`;
  return {
    jobId: name,
    sessionId: `sess-${name}`,
    mode: 'run',
    runtime: { kind: 'podman', command: FAKE_RUNTIME, globalArgs: [], env: { FAKE_RUNTIME_STATE: dir } },
    containerName,
    container: {
      name: containerName,
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
      env,
      secretEnv: {},
      workdir: '/workspace',
      command: ['claude'],
    },
    outputPath: join(dir, `${name}.jsonl`),
    maxOutputSize: 0,
    startupTimeoutSeconds: 60,
    idleTimeoutSeconds: 60,
    metricsIntervalMs: 60_000,
    cancelGraceMs: 500,
    progressIntervalMs,
    image: 'img',
  };
}

/** Plays the supervisor's part for one job: launch on ready; record when each message came. */
function drive(pool: JobPool, spec: JobSpec) {
  const seen: Array<{ at: number; message: WorkerMessage }> = [];
  let started!: () => void;
  const startedAt = new Promise<void>((r) => (started = r));
  const handle = pool.submit(
    spec,
    (raw) => {
      const message = raw as WorkerMessage;
      seen.push({ at: performance.now(), message });
      if (message.type === 'ready') handle.send({ type: 'launch', jobId: spec.jobId });
      if (message.type === 'started') started();
    },
    new AbortController().signal,
  );
  return { handle, seen, started: startedAt, done: handle.done };
}

describe('jobs sharing a worker thread (fake runtime, real threads)', () => {
  let dir: string;
  let pool: JobPool | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-actors-'));
  });
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps a thread-mate's progress on its interval while one job streams a 50 MiB single line", async () => {
    // The recording: Claude's init line, one 50 MiB assistant line, the result.
    const huge = join(dir, 'huge.jsonl');
    await new Promise<void>((done, fail) => {
      const out = createWriteStream(huge);
      out.on('error', fail);
      out.write('{"type":"system","subtype":"init","session_id":"s-huge","model":"m"}\n');
      out.write('{"type":"assistant","message":{"content":[{"type":"text","text":"');
      out.write(Buffer.alloc(50 * MiB, 0x78));
      out.write('"}]}}\n');
      out.end(
        '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s-huge"}\n',
        done,
      );
    });
    pool = new JobPool({ maxJobs: 2, threads: 1 });
    const INTERVAL = 25;
    // The thread-mate: small lines at 100 KB/s for ~4 s, so its progress changes every tick.
    const steady = drive(
      pool,
      fakeJob(
        dir,
        'steady',
        {
          FAKE_STREAM: resolve('test/fixtures/streams/simple.jsonl'),
          FAKE_TOTAL_BYTES: String(400_000),
          FAKE_RATE_BYTES_PER_SEC: String(100_000),
          FAKE_CHUNK_BYTES: '1000',
        },
        INTERVAL,
      ),
    );
    await steady.started;
    const big = drive(pool, fakeJob(dir, 'huge', { FAKE_STREAM: huge }, INTERVAL));
    expect(pool.threads).toBe(1);
    expect(pool.hostOf('huge')).toBe(pool.hostOf('steady'));
    await big.started;
    // The machine's own stalls (a loaded host stops every thread alike): a timer on the main
    // thread, which does no parsing, ticks on the same interval; its worst lateness is not ours.
    const ticks: number[] = [];
    const reference = setInterval(() => ticks.push(performance.now()), INTERVAL);
    const bigStarted = performance.now();
    let bigOutcome: JobOutcome;
    let bigEnded: number;
    try {
      bigOutcome = await big.done;
      bigEnded = performance.now();
    } finally {
      clearInterval(reference);
    }
    const steadyOutcome = await steady.done;

    expect(bigOutcome.status).toBe('completed');
    expect((await stat(join(dir, 'huge.jsonl'))).size).toBeGreaterThan(50 * MiB);
    expect(bigOutcome.progress.outputSize).toBe((await stat(huge)).size);
    expect(steadyOutcome.status).toBe('completed');
    // The thread-mate's progress while the huge line streamed: no gap longer than 100 ms, less
    // the machine's own stalls. Known, not yet explained: one pause of 110-130 ms per 50 MiB line
    // (seen at host loads 7-20, near the line's end; GC of the line's buffers is the suspect), so
    // one gap may reach 250 ms. Without the sliced feed the worst gap is seconds (2681 ms seen).
    const times = steady.seen
      .filter((s) => s.message.type === 'progress' && s.at >= bigStarted && s.at <= bigEnded)
      .map((s) => s.at);
    expect(times.length).toBeGreaterThan(2);
    const gaps = [
      times[0]! - bigStarted,
      ...times.slice(1).map((t, i) => t - times[i]!),
      bigEnded - times[times.length - 1]!,
    ].sort((a, b) => b - a);
    const tickGaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
    const machineStall = Math.max(0, Math.max(0, ...tickGaps) - INTERVAL);
    const detail =
      `progress gaps of the thread-mate, longest first (ms): ${gaps.map((g) => g.toFixed(0)).join(' ')}; ` +
      `the main thread's own worst stall: ${machineStall.toFixed(0)} ms`;
    expect(gaps[0]! - machineStall, detail).toBeLessThan(250);
    expect((gaps[1] ?? 0) - machineStall, detail).toBeLessThan(100);
  }, 60_000);
});

describe('a worker thread that dies (fake runtime, real threads, fault injection)', () => {
  let stack: Awaited<ReturnType<typeof fakeStack>> | null = null;
  afterEach(async () => {
    await stack?.dispose();
    stack = null;
  });

  it('fails only its own jobs with WORKER_CRASHED; the jobs of the other thread complete; the thread is replaced', async () => {
    vi.stubEnv('FAKE_RUNTIME_STATE', join('/tmp', `fake-rt-crash-${process.pid}-${Date.now()}`));
    vi.stubEnv('FAKE_STREAM', resolve('test/fixtures/streams/simple.jsonl'));
    // Each job streams for about 3 s (the fault fires 1.5 s after its job starts).
    vi.stubEnv('FAKE_TOTAL_BYTES', String(60_000));
    vi.stubEnv('FAKE_RATE_BYTES_PER_SEC', String(20_000));
    vi.stubEnv('CLAUDE_POD_FAULT_INJECTION', '1');
    const pool = new JobPool({ maxJobs: 4, threads: 2 });
    stack = await fakeStack({ maxConcurrentJobs: 4, workerThreads: 2 }, { pool });
    const { sup } = stack;
    const victim = await sup.start({ prompt: 'victim [[fault:exit]]' });
    const others = [];
    for (let i = 0; i < 3; i++) others.push(await sup.start({ prompt: `bystander ${i}` }));
    // Every job is on a thread before the fault: two threads, two jobs each.
    await vi.waitFor(() => expect(pool.placement().flatMap((p) => p.jobs)).toHaveLength(4), {
      timeout: 10_000,
    });
    expect(pool.threads).toBe(2);
    const victimThread = pool.hostOf(victim.jobId);
    const mates = others.filter((o) => pool.hostOf(o.jobId) === victimThread);
    const elsewhere = others.filter((o) => pool.hostOf(o.jobId) !== victimThread);
    expect(mates).toHaveLength(1);
    expect(elsewhere).toHaveLength(2);

    const ends = await Promise.all([victim, ...others].map((j) => stack!.waitForEnd(j.jobId)));
    const byId = new Map(ends.map((e) => [e.jobId, e]));
    for (const job of [victim, ...mates]) {
      expect(byId.get(job.jobId)).toMatchObject({ status: 'failed', errorCode: ErrorCodes.WORKER_CRASHED });
    }
    for (const job of elsewhere)
      expect(byId.get(job.jobId)?.status, byId.get(job.jobId)?.error ?? '').toBe('completed');
    // The crashed jobs' containers were removed (the fake runtime knows them no more).
    for (const job of [victim, ...mates]) {
      await expect(
        stat(join(process.env.FAKE_RUNTIME_STATE!, `claude-pod-${job.jobId}.json`)),
      ).rejects.toMatchObject({
        code: 'ENOENT',
      });
    }
    // A new thread takes the dead one's place.
    const after = await sup.start({ prompt: 'after the crash' });
    expect((await stack.waitForEnd(after.jobId)).status).toBe('completed');
  }, 60_000);
});
