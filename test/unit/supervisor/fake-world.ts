/**
 * A state directory, the fake runtime (test/fixtures/fake-runtime.mjs) behind the flaky wrapper
 * (test/fixtures/flaky-runtime.sh), and bounded waits: what the lifecycle regression tests share.
 * Supervisors are opened with `createSupervisor`, the entry point every caller uses.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ResultPromise } from 'execa';
import { vi } from 'vitest';
import type { RuntimeInfo } from '../../../src/runtime/runtime-info.js';
import type { ConfigInput } from '../../../src/shared/config.js';
import { createSupervisor, type CreateSupervisorOptions } from '../../../src/supervisor/create.js';
import type { JobStatus } from '../../../src/supervisor/job-view.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { testWorkerThreadsConfig } from '../../fixtures/worker-threads.js';
import { fakeApiGate, fakeRuntimeInfo, FAKE_RUNTIME } from './fake-runtime-stack.js';

export const FLAKY_RUNTIME = resolve('test/fixtures/flaky-runtime.sh');
export const SIMPLE_STREAM = resolve('test/fixtures/streams/simple.jsonl');

/** Polls `get` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  get: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The JSON lines a child process prints, as they arrive. */
export function childLines(child: ResultPromise): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(pending.slice(0, nl)) as Record<string, unknown>);
      pending = pending.slice(nl + 1);
    }
  });
  return lines;
}

export const ended = (s: JobStatus): boolean => ['completed', 'failed', 'cancelled'].includes(s.status);

export interface FakeWorld {
  dir: string;
  config: ConfigInput;
  flakyDir: string;
  lockPath: string;
  registryPath: string;
  runtime(): RuntimeInfo;
  open(extra?: ConfigInput, options?: CreateSupervisorOptions): Promise<Supervisor>;
  /** The next `count` calls of `verb` through the wrapper fail (exit 125). */
  failNext(verb: string, count?: number): Promise<void>;
  /** Calls of `verb` hang until killed (or `false`: no longer). */
  hang(verb: string, on?: boolean): Promise<void>;
  /** Verbs the runtime was called with, in order. */
  calls(): string[];
  /** The fake container of a job: its state as the fake runtime keeps it, and whether its process lives. */
  container(jobId: string): { status: string; alive: boolean } | null;
  containerNames(): string[];
  waitForEnd(sup: Supervisor, jobId: string, timeoutMs?: number): Promise<JobStatus>;
  dispose(): Promise<void>;
}

/**
 * A temp state directory with the fake runtime configured by FAKE_* variables (set now, in this
 * process's environment, which the runtime client and the runtime info both carry).
 */
export async function fakeWorld(
  fake: Record<string, string> = {},
  config: ConfigInput = {},
): Promise<FakeWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-life-'));
  const flakyDir = join(dir, 'flaky');
  const stateDir = join(dir, 'runtime');
  await mkdir(flakyDir);
  vi.stubEnv('FAKE_RUNTIME_STATE', stateDir);
  vi.stubEnv('FAKE_STREAM', SIMPLE_STREAM);
  vi.stubEnv('FAKE_MAX_LIFETIME_MS', '60000');
  vi.stubEnv('FLAKY_REAL', FAKE_RUNTIME);
  vi.stubEnv('FLAKY_DIR', flakyDir);
  for (const [k, v] of Object.entries(fake)) vi.stubEnv(k, v);
  const sessionsDir = join(dir, 'sessions');
  const fullConfig: ConfigInput = {
    ...testWorkerThreadsConfig(),
    sessionsDir,
    workspacesDir: join(dir, 'workspaces'),
    metricsIntervalSeconds: 0.5,
    cancelGraceSeconds: 0.2,
    ...config,
  };
  const opened: Supervisor[] = [];
  const runtime = (): RuntimeInfo => {
    const base = fakeRuntimeInfo();
    return {
      ...base,
      command: FLAKY_RUNTIME,
      env: { ...base.env, FLAKY_REAL: FAKE_RUNTIME, FLAKY_DIR: flakyDir },
    };
  };
  const containerFile = (jobId: string) => join(stateDir, `claude-pod-${jobId}.json`);
  const world: FakeWorld = {
    dir,
    config: fullConfig,
    flakyDir,
    lockPath: join(sessionsDir, 'supervisor.lock'),
    registryPath: join(sessionsDir, 'registry.json'),
    runtime,
    async open(extra = {}, options = {}) {
      const sup = (await createSupervisor(
        { ...fullConfig, ...extra },
        { runtime: runtime(), apiGate: fakeApiGate(), ...options },
      )) as Supervisor;
      opened.push(sup);
      return sup;
    },
    failNext: (verb, count = 1) => writeFile(join(flakyDir, `fail-${verb}`), String(count)),
    async hang(verb, on = true) {
      if (on) await writeFile(join(flakyDir, `hang-${verb}`), '');
      else await rm(join(flakyDir, `hang-${verb}`), { force: true });
    },
    calls() {
      try {
        return readFileSync(join(flakyDir, 'calls'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    container(jobId) {
      if (!existsSync(containerFile(jobId))) return null;
      const state = JSON.parse(readFileSync(containerFile(jobId), 'utf8')) as { Status: string; Pid: number };
      let alive = false;
      try {
        process.kill(state.Pid, 0);
        alive = state.Pid > 0;
      } catch {
        alive = false;
      }
      return { status: state.Status, alive };
    },
    containerNames() {
      if (!existsSync(stateDir)) return [];
      return readdirSync(stateDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5));
    },
    waitForEnd: (sup, jobId, timeoutMs = 30_000) =>
      until(
        `the end of ${jobId}`,
        () => {
          const s = sup.status(jobId);
          return ended(s) ? s : undefined;
        },
        timeoutMs,
      ),
    async dispose() {
      await rm(join(flakyDir, 'hang-kill'), { force: true });
      await rm(join(flakyDir, 'hang-rm'), { force: true });
      for (const sup of opened.reverse()) {
        await Promise.race([
          sup.close({ cancelRunning: true, timeoutMs: 3_000 }).catch(() => undefined),
          new Promise((r) => setTimeout(r, 5_000)),
        ]);
      }
      // Whatever a test left running in the fake runtime.
      for (const name of world.containerNames()) {
        try {
          const { Pid } = JSON.parse(readFileSync(join(stateDir, `${name}.json`), 'utf8')) as { Pid: number };
          if (Pid > 0) process.kill(Pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}
