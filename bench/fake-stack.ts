/**
 * A supervisor wired to the load generator instead of podman: the same supervisor, pool, worker
 * and JobRunner code as production; only the runtime command differs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RuntimeInfo } from '../src/runtime/runtime-info.js';
import type { ApiGate } from '../src/supervisor/api-gate.js';
import type { JobStatus } from '../src/supervisor/job-view.js';
import type { Supervisor } from '../src/supervisor/supervisor.js';
import type { Impl } from './impl.js';
import { SeedJobPool } from './seed-pool.js';
import {
  fakeRuntimeInfo as sharedRuntimeInfo,
  inertApiGate as sharedInertGate,
} from '../test/fixtures/fake-runtime-info.js';

/** The fixture runtime of the unit tests: its bytes are the reference the light generator must match. */
export const FAKE_RUNTIME = resolve('test/fixtures/fake-runtime.mjs');
/**
 * The benchmark's load generator (bench/load-generator): `run` is one process streaming straight
 * to the supervisor's pipe and the other verbs are sh, cheap enough for 64 jobs on 2 cores. The
 * fixture runtime's detached "container" plus a polling `run` client cost about three times the
 * CPU per job, which on 2 cores would be measured as the supervisor's latency.
 */
export const LIGHT_RUNTIME = resolve('bench/load-generator/podman.sh');
/** Recorded stream-json: assistant text, tool_use with a 43 KB input, tool_results up to 94 KB. LF only. */
export const DEFAULT_STREAM = resolve('test/fixtures/streams/tool-use.jsonl');

/**
 * `worker`: the worker pool (production); `inline`: the same actors on the main thread; `seed`:
 * the seed plugin's design (every line decoded and parsed on the main thread, kept in memory).
 */
export type JobMode = 'worker' | 'inline' | 'seed';

/** The session server: one process plays synthetic Claude sessions to every job (see podman.sh). */
export const SESSION_SERVER = resolve('bench/load-generator/session-server.mjs');

export const fakeRuntimeInfo = (): RuntimeInfo => sharedRuntimeInfo(LIGHT_RUNTIME);

/** No model API behind the fake runtime: a gate that hands out inert tokens. */
export const inertApiGate = (): ApiGate => sharedInertGate('bench-token');

/** What the load generator prints: FAKE_* variables, read by its `run` from the environment. */
export interface FakeLoad {
  stream: string;
  totalBytes: number;
  /** Bytes per second per job; null = full speed (no rate limit). */
  rateBytesPerSec: number | null;
  /** Instead of the recording: a synthetic Claude session of this length (claude-session.mjs). */
  sessionMs?: number;
}

export interface FakeStack {
  sup: Supervisor;
  /** The worker pool (worker mode): threads and placement can be read from it. */
  pool: InstanceType<Impl['JobPool']> | null;
  dir: string;
  /** Every job prints nothing until this is called: then they all stream at once. */
  go(): Promise<void>;
  waitForEnd(jobId: string): Promise<JobStatus>;
  outputPath(jobId: string): string;
  dispose(): Promise<void>;
}

/**
 * Sets the FAKE_* environment (worker threads copy process.env when they are created, and the
 * runtime client inherits it), creates a supervisor on temp directories and undoes both on dispose.
 */
export async function fakeStack(opts: {
  impl: Impl;
  mode: JobMode;
  jobs: number;
  load: FakeLoad;
  metricsIntervalSeconds: number;
  /** Worker threads (worker mode); default: the config's default. */
  threads?: number;
  maxPendingJobs?: number;
}): Promise<FakeStack> {
  await reapBenchCgroups(); // left by a run that was killed
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-bench-'));
  const goFile = join(dir, 'go');
  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  const restoreEnv = setEnv({
    FAKE_STATE_DIR: stateDir,
    FAKE_STREAM: opts.load.stream,
    FAKE_TOTAL_BYTES: String(opts.load.totalBytes),
    FAKE_GO_FILE: goFile,
    FAKE_RATE_BYTES_PER_SEC:
      opts.load.rateBytesPerSec === null ? undefined : String(opts.load.rateBytesPerSec),
    FAKE_CHUNK_BYTES: undefined,
    FAKE_HOLD_MS: undefined,
    FAKE_STALL_MS: undefined,
    FAKE_SESSION_MS: opts.load.sessionMs === undefined ? undefined : String(opts.load.sessionMs),
  });
  let server: ChildProcess | null = null;
  if (opts.load.sessionMs !== undefined) {
    server = spawn(process.execPath, [SESSION_SERVER], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const pool =
    opts.mode === 'worker'
      ? new opts.impl.JobPool({
          maxJobs: Math.max(1, opts.jobs),
          ...(opts.threads === undefined ? {} : { threads: opts.threads }),
        })
      : null;
  let sup: Supervisor;
  try {
    sup = await opts.impl.createSupervisor(
      {
        sessionsDir: join(dir, 'sessions'),
        workspacesDir: join(dir, 'workspaces'),
        maxConcurrentJobs: Math.max(1, opts.jobs),
        ...(opts.threads === undefined ? {} : { workerThreads: opts.threads }),
        ...(opts.maxPendingJobs === undefined ? {} : { maxPendingJobs: opts.maxPendingJobs }),
        maxOutputSize: 0,
        metricsIntervalSeconds: opts.metricsIntervalSeconds,
        sessionIdleTimeout: 0,
        startupTimeout: 120,
        idleTimeout: 120,
      },
      {
        runtime: fakeRuntimeInfo(),
        apiGate: inertApiGate(),
        skipRecovery: true,
        ...(opts.mode === 'inline' ? { inlineJobsForBenchmark: true } : {}),
        ...(opts.mode === 'seed' ? { pool: new SeedJobPool(Math.max(1, opts.jobs)) } : {}),
        ...(pool ? { pool } : {}),
      },
    );
  } catch (error) {
    await pool?.close();
    server?.kill();
    restoreEnv();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    sup,
    pool,
    dir,
    go: () => writeFile(goFile, 'go\n'),
    waitForEnd: (jobId) => waitForEnd(sup, jobId),
    outputPath: (jobId) => sup.paths.outputFile(sup.job(jobId)!.sessionId, jobId),
    async dispose() {
      try {
        await sup.close({ cancelRunning: true });
      } finally {
        server?.kill();
        restoreEnv();
        await rm(dir, { recursive: true, force: true });
        await reapBenchCgroups();
      }
    },
  };
}

/**
 * The load generator's cgroups (podman.sh `run` creates them, `rm` removes each with its job):
 * any that a killed run left, and their parent, are removed here. A cgroup still holding a
 * process cannot be removed and stays.
 */
async function reapBenchCgroups(): Promise<void> {
  for (const controller of ['memory', 'cpuacct', 'pids']) {
    const parent = join('/sys/fs/cgroup', controller, 'claude-pod-bench');
    const names = await readdir(parent).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith('libpod-')) await rmdir(join(parent, name)).catch(() => undefined);
    }
    await rmdir(parent).catch(() => undefined);
  }
}

export function waitForEnd(sup: Supervisor, jobId: string): Promise<JobStatus> {
  return new Promise((resolveEnd) => {
    const now = sup.status(jobId);
    if (['completed', 'failed', 'cancelled'].includes(now.status)) return resolveEnd(now);
    const on = (s: JobStatus) => {
      if (s.jobId !== jobId) return;
      sup.off('job:end', on);
      resolveEnd(s);
    };
    sup.on('job:end', on);
  });
}

/** Sets (or, for undefined, deletes) environment variables; returns a function that restores them. */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const before = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(vars)) {
    before.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of before) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
