/**
 * The lifecycle under thousands of random interleavings (fast-check, seeded): starts with and
 * without a session, status, output, cancel, cleanup, close-and-reopen (also closing again right
 * after reopening, before any worker is ready), a second supervisor on the same directory, a
 * runtime whose `ps`/`inspect` fail, registry writes that fail, workers that crash, and a second
 * engine that goes away and comes back — against two in-memory engines (jobs are placed on the
 * one with the fewest jobs, each within its own slots) and the inline job host, so each
 * sequence takes milliseconds.
 *
 * After every step: each job is in one state the machine allows; a session has at most one
 * active job; no engine runs more jobs than its slots; only jobs of an engine that went away fail
 * ENGINE_UNREACHABLE; no unhandled rejection; every call settled within a bound. After each sequence
 * has settled (and, in one run in MODEL_STRICT_EVERY, after every step): the registry on disk
 * equals the supervisor's view, no container without a live job,
 * no running job without a container.
 *
 * A failure prints fast-check's seed, path and replayPath; replay it with
 * MODEL_SEED=<seed> MODEL_PATH=<path> MODEL_REPLAY=<replayPath>.
 * MODEL_RUNS sets the number of sequences (default 2000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_JOB, LABEL_OWNER } from '../../../src/runtime/labels.js';
import type { ConfigInput } from '../../../src/shared/config.js';
import { ErrorCodes, isClaudePodError } from '../../../src/shared/errors.js';
import { createSupervisor, openOwner } from '../../../src/supervisor/create.js';
import { InlineJobPool } from '../../../src/supervisor/inline-pool.js';
import type { JobRecord } from '../../../src/supervisor/records.js';
import { atomicWriter, loadRegistry, type RegistryWriter } from '../../../src/supervisor/registry-file.js';
import { statePaths } from '../../../src/supervisor/state-paths.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import type { Clock } from '../../../src/workers/clock.js';
import { fakeRuntimeInfo, inertApiGate } from '../../fixtures/fake-runtime-info.js';
import { defaultScript, MemoryEngine, type Step } from '../../fixtures/memory-engine.js';
import { testWorkerThreads } from '../../fixtures/worker-threads.js';

const RUNS = Number(process.env.MODEL_RUNS ?? 2000);
/** Every this many runs, one checks disk = memory and containers = live jobs after every step. */
const STRICT_EVERY = Number(process.env.MODEL_STRICT_EVERY ?? 25);
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const PATH = process.env.MODEL_PATH;
const REPLAY = process.env.MODEL_REPLAY;
/** Every call must settle within this (real time). */
const CALL_BOUND_MS = 5_000;
/** Engine `a` stays; engine `b` can go away (every call fails) and come back. */
const ENGINES = [
  { name: 'a', slots: 2 },
  { name: 'b', slots: 1 },
] as const;
type EngineName = (typeof ENGINES)[number]['name'];

/** Timers of the job runners run 20× faster than the clock (grace periods, inspect backoff). */
const fastClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, Math.floor(ms / 20)));
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

type Script = 'quick' | 'slow' | 'hang' | 'fail' | 'silent-exit';

function scriptFor(prompt: string | undefined): Step[] {
  const kind = /\[(\w[\w-]*)\]/.exec(prompt ?? '')?.[1] as Script | undefined;
  const [init, , text, result] = defaultScript();
  switch (kind) {
    case 'slow':
      return [init!, { sleep: 20 }, text!, { sleep: 20 }, result!, { exit: 0 }];
    case 'hang':
      return [init!, text!, { hang: true }];
    case 'fail':
      return [init!, { exit: 1 }];
    case 'silent-exit':
      return [{ exit: 0 }];
    default:
      return defaultScript();
  }
}

/** The supervisor and everything around it that survives its restarts. */
class World {
  sup!: Supervisor;
  readonly engines: Record<EngineName, MemoryEngine> = {
    a: new MemoryEngine({ script: (spec) => scriptFor(spec.stdin), startDelayMs: 2 }),
    b: new MemoryEngine({ script: (spec) => scriptFor(spec.stdin), startDelayMs: 2 }),
  };
  /** Engines that went away at some point of this sequence. */
  readonly everDown = new Set<string>();
  get engine(): MemoryEngine {
    return this.engines.a;
  }
  failingWrites = 0;
  /** Check the settled invariants (disk = memory, containers = live jobs) after every step too. */
  strict = false;
  readonly unhandled: unknown[] = [];
  readonly jobIds: string[] = [];
  readonly sessionIds: string[] = [];
  private readonly pools: Array<Record<EngineName, InlineJobPool>> = [];
  private readonly onUnhandled = (reason: unknown) => this.unhandled.push(reason);

  constructor(
    readonly dir: string,
    readonly config: ConfigInput,
  ) {}

  readonly writer: RegistryWriter = async (path, data) => {
    if (this.failingWrites > 0) {
      this.failingWrites--;
      throw Object.assign(new Error('ENOSPC: no space left on device (injected)'), { code: 'ENOSPC' });
    }
    await atomicWriter(path, data);
  };

  get pool(): { crash(jobId: string): boolean } {
    const last = this.pools[this.pools.length - 1]!;
    return { crash: (jobId) => last.a.crash(jobId) || last.b.crash(jobId) };
  }

  static async create(): Promise<World> {
    const dir = await mkdtemp(join(tmpdir(), 'claude-pod-model-'));
    const world = new World(dir, {
      sessionsDir: join(dir, 'sessions'),
      workspacesDir: join(dir, 'workspaces'),
      maxConcurrentJobs: 3,
      maxPendingJobs: 4,
      engines: [
        { name: 'a', kind: 'podman', maxConcurrentJobs: ENGINES[0].slots },
        { name: 'b', kind: 'docker', maxConcurrentJobs: ENGINES[1].slots },
      ],
      engineUnreachableSeconds: 0.03,
      cancelGraceSeconds: 0.2,
      startupTimeout: 30,
      idleTimeout: 30,
      metricsIntervalSeconds: 3600,
      sessionIdleTimeout: 0,
    });
    process.on('unhandledRejection', world.onUnhandled);
    world.sup = await world.open();
    return world;
  }

  options() {
    const pools = {
      a: new InlineJobPool(ENGINES[0].slots, this.engines.a, { clock: fastClock }, testWorkerThreads()),
      b: new InlineJobPool(ENGINES[1].slots, this.engines.b, { clock: fastClock }, testWorkerThreads()),
    };
    this.pools.push(pools);
    const runtime = fakeRuntimeInfo('/bin/false');
    return {
      engines: {
        a: { runtime, engine: this.engines.a, pool: pools.a },
        b: { runtime, engine: this.engines.b, pool: pools.b },
      },
      apiGate: inertApiGate(),
      registryWriter: this.writer,
      timing: {
        launchGraceMs: 5,
        recheckMinMs: 5,
        recoveryBackoffMs: 5,
        writeRetryDelaysMs: [1, 2, 4],
        engineProbeMs: 5,
      },
      serveControl: true,
    };
  }

  open(): Promise<Supervisor> {
    return openOwner(this.config, this.options());
  }

  async dispose(): Promise<void> {
    process.off('unhandledRejection', this.onUnhandled);
    await bounded(this.sup.close({ cancelRunning: true, timeoutMs: 2_000 }), 'dispose close');
    this.engines.a.dispose();
    this.engines.b.dispose();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Safety: what must hold at every instant. */
  checkSafety(): void {
    expect(this.unhandled, 'unhandled rejections').toEqual([]);
    const snap = this.sup.snapshot();
    const active = new Map<string, string[]>();
    for (const job of Object.values(snap.jobs)) {
      expect(allowed(job), `job ${job.jobId}: phase ${job.phase} with status ${job.status}`).toBe(true);
      expect(snap.sessions[job.sessionId], `job ${job.jobId} has its session`).toBeDefined();
      if (job.phase !== 'ended') active.set(job.sessionId, [...(active.get(job.sessionId) ?? []), job.jobId]);
    }
    // Each engine runs at most its slots (a job holds one from its worker's start to its end).
    for (const { name, slots } of ENGINES) {
      const holding = Object.values(snap.jobs).filter((j) => {
        const f = this.sup.follower(j.jobId);
        return j.engine === name && (f?.state === 'ready' || f?.state === 'active');
      });
      expect(holding.length, `engine ${name} jobs running`).toBeLessThanOrEqual(slots);
    }
    // A host going away fails only its own jobs.
    for (const job of Object.values(snap.jobs)) {
      expect(job.engine === 'a' || job.engine === 'b', `job ${job.jobId} placed`).toBe(true);
      if (job.error?.code === ErrorCodes.ENGINE_UNREACHABLE) {
        expect(this.everDown.has(job.engine ?? ''), `job ${job.jobId} failed with its engine up`).toBe(true);
      }
    }
    for (const session of Object.values(snap.sessions)) {
      const live = active.get(session.sessionId) ?? [];
      expect(live.length, `session ${session.sessionId} active jobs`).toBeLessThanOrEqual(1);
      expect(session.activeJobId, `session ${session.sessionId} activeJobId`).toBe(live[0] ?? null);
    }
  }

  /** Waits until nothing more happens by itself: no follower changes state, effects drained. */
  async settle(): Promise<void> {
    const deadline = Date.now() + 4_000;
    let last = '';
    let stableSince = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      const snap = this.sup.snapshot();
      const key = JSON.stringify(
        Object.values(snap.jobs).map((j) => [j.jobId, j.phase, j.status, this.sup.follower(j.jobId)?.state]),
      );
      if (key !== last) {
        last = key;
        stableSince = Date.now();
      }
      const transient = Object.values(snap.jobs).some(
        (j) =>
          (j.phase === 'queued' || j.phase === 'launching') && this.sup.follower(j.jobId)?.state !== 'queued',
      );
      if (!transient && Date.now() - stableSince > 25) return;
      if (Date.now() > deadline) return;
    }
  }

  /** Eventually: disk equals memory, containers match live jobs. */
  async checkSettled(): Promise<void> {
    this.failingWrites = 0;
    // Every engine answers again, so the containers of jobs failed while one was away are reaped.
    if (!this.engines.b.isReachable) {
      // Long enough for b to be declared unreachable if it holds jobs: its jobs, and only its, fail.
      await new Promise((r) => setTimeout(r, 80));
      this.checkSafety();
      this.engines.b.setReachable(true);
      await eventuallyTrue(() => !this.sup.engineDown('b'), 'engine b to be seen again');
      await this.sup.recover();
    }
    // Jobs that hang keep running; anything else still moving may change the state between the
    // write and the read, so look again a few times — a real divergence stays.
    let onDisk: unknown = null;
    let inMemory: unknown = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.settle();
      await bounded(this.sup.persistNow(), 'persist');
      inMemory = JSON.parse(JSON.stringify(this.sup.snapshot()));
      // As the next supervisor reads it: the document and the settled jobs' own files.
      onDisk = JSON.parse(
        JSON.stringify(
          (
            await loadRegistry(
              statePaths(this.config.sessionsDir as string, this.config.workspacesDir as string),
            )
          ).state,
        ),
      );
      if (JSON.stringify(onDisk) === JSON.stringify(inMemory)) break;
    }
    expect(onDisk).toEqual(inMemory);
    const owner = this.sup.ownerId;
    for (const [name, engine] of Object.entries(this.engines)) {
      for (const c of engine.containers.values()) {
        if (c.labels[LABEL_OWNER] !== owner) continue;
        const job = this.sup.job(c.labels[LABEL_JOB] ?? '');
        expect(job && job.phase !== 'ended', `container ${c.name} (${c.status}) without a live job`).toBe(
          true,
        );
        expect(job?.engine, `container ${c.name} on the job's engine`).toBe(name);
      }
    }
    for (const job of Object.values(this.sup.snapshot().jobs)) {
      if (job.phase !== 'running' || !this.sup.follower(job.jobId)) continue;
      const c = this.engines[job.engine as EngineName].containers.get(`claude-pod-${job.jobId}`);
      expect(c, `running job ${job.jobId} without a container`).toBeDefined();
    }
  }
}

function allowed(job: JobRecord): boolean {
  switch (job.phase) {
    case 'queued':
    case 'launching':
      return job.status === 'pending' && job.endedAt === null;
    case 'running':
      return job.status === 'running' && job.endedAt === null;
    case 'ended':
      return (
        job.endedAt !== null &&
        (job.status === 'completed'
          ? job.error === null
          : job.status !== 'pending' && job.status !== 'running')
      );
  }
}

async function eventuallyTrue(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + CALL_BOUND_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${CALL_BOUND_MS} ms`)),
      CALL_BOUND_MS,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls may fail only with these codes. */
const EXPECTED = new Set<string>([
  ErrorCodes.SESSION_BUSY,
  ErrorCodes.SESSION_NOT_FOUND,
  ErrorCodes.JOB_NOT_FOUND,
  ErrorCodes.QUEUE_FULL,
  ErrorCodes.STATE_WRITE_FAILED,
]);

async function tolerate(p: Promise<unknown>, what: string): Promise<void> {
  try {
    await bounded(p, what);
  } catch (error) {
    if (isClaudePodError(error) && EXPECTED.has(error.code)) return;
    throw error;
  }
}

const pick = <T>(items: T[], i: number): T | undefined =>
  items.length ? items[i % items.length] : undefined;

type Cmd = fc.AsyncCommand<object, World>;
const cmd = (name: string, run: (w: World) => Promise<void>): Cmd => ({
  check: () => true,
  run: async (_m, w) => {
    await run(w);
    w.checkSafety();
    // In one run in STRICT_EVERY, the settled invariants after every step (while no write is
    // set to fail: a failing registry write is allowed to leave the disk behind until it retries).
    if (w.strict && w.failingWrites === 0) await w.checkSettled();
  },
  toString: () => name,
});

const scripts = fc.constantFrom<Script>('quick', 'quick', 'slow', 'hang', 'fail', 'silent-exit');

const commands = [
  fc.tuple(fc.option(fc.nat(), { nil: undefined }), scripts).map(([s, script]) =>
    cmd(`start(${s ?? 'new'}, ${script})`, async (w) => {
      const sessionId = s === undefined ? undefined : pick(w.sessionIds, s);
      const started = bounded(
        w.sup.start({ prompt: `[${script}] work`, ...(sessionId ? { sessionId } : {}) }),
        'start',
      );
      try {
        const { jobId, sessionId: sid } = await started;
        w.jobIds.push(jobId);
        if (!w.sessionIds.includes(sid)) w.sessionIds.push(sid);
        // The job start() returned is known, with its session.
        expect(w.sup.status(jobId).sessionId).toBe(sid);
      } catch (error) {
        if (!(isClaudePodError(error) && EXPECTED.has(error.code))) throw error;
      }
    }),
  ),
  fc.nat().map((i) =>
    cmd(`status(${i})`, async (w) => {
      const id = pick(w.jobIds, i);
      if (id)
        await tolerate(
          Promise.resolve().then(() => w.sup.status(id)),
          'status',
        );
    }),
  ),
  fc.nat().map((i) =>
    cmd(`output(${i})`, async (w) => {
      const id = pick(w.jobIds, i);
      if (id) await tolerate(w.sup.output(id, { limit: 4096 }), 'output');
    }),
  ),
  fc.nat().map((i) =>
    cmd(`cancel(${i})`, async (w) => {
      const id = pick(w.jobIds, i);
      if (!id) return;
      try {
        const status = await bounded(w.sup.cancel(id, { timeoutMs: 3_000 }), 'cancel');
        // Unless the write of its state failed meanwhile, a cancelled job has ended.
        if (w.failingWrites === 0) expect(['completed', 'failed', 'cancelled']).toContain(status.status);
      } catch (error) {
        if (!(isClaudePodError(error) && EXPECTED.has(error.code))) throw error;
      }
    }),
  ),
  fc.boolean().map((all) =>
    cmd(`cleanup(${all ? 'all idle' : 'config: never'})`, async (w) => {
      await tolerate(w.sup.cleanup(all ? { olderThanSeconds: 0 } : {}), 'cleanup');
    }),
  ),
  fc.boolean().map((closeAgain) =>
    cmd(`reopen(${closeAgain ? 'close again at once' : ''})`, async (w) => {
      await bounded(w.sup.close(), 'close');
      w.sup = await bounded(w.open(), 'reopen');
      if (closeAgain) {
        await bounded(w.sup.close(), 'close right after reopen');
        w.sup = await bounded(w.open(), 'reopen again');
      }
    }),
  ),
  fc.constant(
    cmd('second supervisor on the same directory', async (w) => {
      await expect(openOwner(w.config, w.options())).rejects.toMatchObject({
        code: ErrorCodes.STATE_DIR_BUSY,
      });
      const client = await bounded(createSupervisor(w.config, w.options()), 'client');
      try {
        expect(client.info().role).toBe('client');
        expect(new Set(client.jobs().map((j) => j.jobId))).toEqual(new Set(w.sup.jobs().map((j) => j.jobId)));
      } finally {
        await client.close();
      }
    }),
  ),
  fc
    .tuple(fc.constantFrom('list' as const, 'inspect' as const), fc.integer({ min: 1, max: 3 }))
    .map(([verb, n]) =>
      cmd(`runtime ${verb} fails ×${n}`, async (w) => {
        w.engine.failNext(verb, n);
        const before = w.engine.calls.filter((c) => c.verb === 'remove').length;
        if (verb === 'list') {
          expect(await bounded(w.sup.recover(), 'recover')).toBe(false);
          // Nothing is reaped on a failed listing.
          expect(w.engine.calls.filter((c) => c.verb === 'remove').length).toBe(before);
        }
      }),
    ),
  fc.boolean().map((away) =>
    cmd(away ? 'engine b goes away' : 'engine b comes back', async (w) => {
      if (away) w.everDown.add('b');
      w.engines.b.setReachable(!away);
    }),
  ),
  fc.integer({ min: 1, max: 5 }).map((n) =>
    cmd(`registry writes fail ×${n}`, async (w) => {
      w.failingWrites = n;
    }),
  ),
  fc.nat().map((i) =>
    cmd(`worker crash(${i})`, async (w) => {
      const id = pick(w.jobIds, i);
      if (id) w.pool.crash(id);
    }),
  ),
  fc.integer({ min: 1, max: 40 }).map((ms) =>
    cmd(`wait ${ms} ms`, async () => {
      await new Promise((r) => setTimeout(r, ms));
    }),
  ),
];

describe('the job lifecycle under random interleavings (model-based, seeded)', () => {
  let worlds: World[] = [];
  beforeAll(() => {
    worlds = [];
  });
  afterAll(async () => {
    await Promise.all(worlds.map((w) => w.dispose().catch(() => undefined)));
  });

  it(
    `holds its invariants over ${RUNS} random sequences`,
    async () => {
      let runIndex = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.commands(commands, { maxCommands: 18, ...(REPLAY ? { replayPath: REPLAY } : {}) }),
          async (cmds) => {
            const world = await World.create();
            world.strict = ++runIndex % STRICT_EVERY === 0;
            try {
              await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds);
              await world.checkSettled();
            } finally {
              await world.dispose();
            }
          },
        ),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH ? { path: PATH } : {}) },
      );
    },
    30 * 60_000,
  );
});
