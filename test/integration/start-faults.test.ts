/**
 * Faults around a job's start, with the real runtime, image and Claude Code (mock API). The
 * runtime command is test/fixtures/flaky-runtime.sh in front of podman, which can fail a verb
 * once or hold `run` before it reaches podman:
 * - a `ps` that fails once when a supervisor starts: nothing is concluded, nothing reaped;
 * - the host killed at each step of a start (before the container is created, while it is
 *   `Created`, right after it starts), or stopped while the runtime is still starting it: after
 *   a restart the job completes, never failing with an exit code nobody observed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { releaseDisksUnder } from '../fixtures/disks.js';
import { createMockApi, formatDirective, type MockApi } from '../../src/mock-api/index.js';
import { containerNameFor, LABEL_OWNER } from '../../src/runtime/labels.js';
import type { RuntimeInfo } from '../../src/runtime/runtime-info.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import { createSupervisor } from '../../src/supervisor/create.js';
import type { JobStatus } from '../../src/supervisor/job-view.js';
import { ownerIdFor } from '../../src/supervisor/owner.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { processAlive, spawnOwner, until } from './helpers/processes.js';
import { reapByLabel, requireRuntime, skipNote } from './helpers/runtime.js';

const env = await requireRuntime();
const FLAKY = resolve('test/fixtures/flaky-runtime.sh');
const key = { ANTHROPIC_API_KEY: 'sk-dummy-start-faults-key' };

describe.skipIf(!env.available)(`faults around a job's start (real runtime and CLI)${skipNote(env)}`, () => {
  let mock: MockApi;
  let root: string;
  const owned: Supervisor[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    mock = await createMockApi({ host: '127.0.0.1', port: 0 });
    root = await mkdtemp(join(tmpdir(), 'claude-pod-startfaults-'));
  });
  afterEach(async () => {
    for (const sup of owned.splice(0))
      await sup.close({ cancelRunning: true, timeoutMs: 10_000 }).catch(() => undefined);
  });
  afterAll(async () => {
    if (env.available) {
      for (const d of dirs)
        await reapByLabel(env.engine, `${LABEL_OWNER}=${ownerIdFor(join(d, 'sessions'))}`);
    }
    await mock?.close();
    await releaseDisksUnder(root);
    await rm(root, { recursive: true, force: true });
  });

  /** A state directory whose runtime command is the flaky wrapper in front of podman. */
  async function place(name: string) {
    const dir = join(root, name);
    const flakyDir = join(dir, 'flaky');
    await mkdir(flakyDir, { recursive: true });
    dirs.push(dir);
    const real = env.available ? env.runtime : (undefined as never);
    const flakyEnv = { FLAKY_REAL: real.command, FLAKY_DIR: flakyDir };
    for (const [k, v] of Object.entries(flakyEnv)) vi.stubEnv(k, v);
    const runtime: RuntimeInfo = {
      kind: real.kind,
      command: FLAKY,
      version: real.version,
      ociRuntime: real.ociRuntime,
      rootless: real.rootless,
      cgroupVersion: real.cgroupVersion,
      logDriver: real.logDriver,
      globalArgs: real.globalArgs,
      env: { ...(real.env ?? {}), ...flakyEnv },
    };
    const config = {
      sessionsDir: join(dir, 'sessions'),
      workspacesDir: join(dir, 'workspaces'),
      apiBaseUrl: mock.url ?? '',
      network: 'none' as const,
      image: env.available ? env.image : '',
    };
    return {
      config,
      flakyDir,
      runtime,
      flakyEnv,
      async open(): Promise<Supervisor> {
        const sup = (await createSupervisor(config, { env: key, runtime })) as Supervisor;
        owned.push(sup);
        return sup;
      },
      flag: async (...names: string[]) => {
        for (const n of names) await writeFile(join(flakyDir, n), '');
      },
      unflag: (name: string) => rm(join(flakyDir, name), { force: true }),
      /** The pid of the wrapper waiting in `verb` (hold-<verb>). */
      held: async (verb: string): Promise<number> => {
        const file = join(flakyDir, `held-${verb}`);
        const pid = await until(
          `\`${verb}\` held by the wrapper`,
          () => existsSync(file) && readFileSync(file, 'utf8').trim(),
          60_000,
          25,
        );
        return Number(pid);
      },
      calls: () =>
        existsSync(join(flakyDir, 'calls'))
          ? readFileSync(join(flakyDir, 'calls'), 'utf8').split('\n').filter(Boolean)
          : [],
    };
  }

  async function containerStatus(jobId: string): Promise<string> {
    const rt = env.available ? env.spec : (undefined as never);
    const r = await execa(
      rt.command,
      [...rt.globalArgs, 'inspect', '--format', '{{.State.Status}}', containerNameFor(jobId)],
      { reject: false },
    );
    return r.exitCode === 0 ? r.stdout.trim() : 'absent';
  }

  const endOf = (sup: Supervisor, jobId: string, timeoutMs = 90_000): Promise<JobStatus> =>
    until(
      `the end of ${jobId}`,
      () => {
        const s = sup.status(jobId);
        return ['completed', 'failed', 'cancelled'].includes(s.status) ? s : undefined;
      },
      timeoutMs,
    );

  it('a `ps` that fails once at start-up: the running job survives, is not reaped, and completes', async () => {
    const p = await place('ps-fails');
    const first = await p.open();
    const { jobId } = await first.start({
      prompt: `stream ${formatDirective('slow-stream', { count: 25, delay: 200 })}`,
    });
    await until(
      'the job running with output',
      () => first.status(jobId).status === 'running' && first.status(jobId).outputSize > 0,
      60_000,
    );
    await first.close();
    await writeFile(join(p.flakyDir, 'fail-ps'), '1');
    const second = await p.open();
    expect(second.status(jobId).status).toBe('running');
    const final = await endOf(second, jobId);
    expect(final.status, final.error ?? '').toBe('completed');
    expect(final.exitCode).toBe(0);
    expect(final.claude.result).toContain('chunk 25');
    expect(p.calls().filter((c) => c.startsWith('ps ')).length).toBeGreaterThanOrEqual(2);
  });

  type Step = 'before the container is created' | 'while it is Created' | 'right after it starts';
  const steps: Step[] = ['before the container is created', 'while it is Created', 'right after it starts'];

  it.each(steps)('the host killed (SIGKILL) %s: after a restart the job completes', async (step) => {
    const p = await place(step.replace(/\W+/g, '-'));
    if (step === 'before the container is created') await p.flag('hold-run');
    if (step === 'while it is Created') await p.flag('split-run', 'hold-start');
    const host = spawnOwner(
      p.config,
      { runtime: p.runtime, prompt: `step ${formatDirective('echo')}` },
      { ...key, ...p.flakyEnv },
    );
    const { jobId } = (await host.waitFor((l) => l.event === 'started', 30_000)) as { jobId: string };
    if (step === 'right after it starts') {
      await host.waitFor((l) => l.event === 'running' && l.jobId === jobId, 60_000);
      await host.kill('SIGKILL');
    } else {
      // The runtime client is creating (or starting) the container: the host dies, and so does it.
      const verb = step === 'while it is Created' ? 'start' : 'run';
      const clientPid = await p.held(verb);
      if (verb === 'start') expect(await containerStatus(jobId)).toBe('created');
      await host.kill('SIGKILL');
      process.kill(clientPid, 'SIGKILL');
      await until('the runtime client gone', () => !processAlive(clientPid), 5_000, 20);
      await p.unflag(`hold-${verb}`);
      if (verb === 'start') expect(await containerStatus(jobId)).toBe('created');
    }
    const sup = await p.open();
    const final = await endOf(sup, jobId);
    expect(final.status, `${final.errorCode}: ${final.error}`).toBe('completed');
    expect(final.errorCode).toBeNull();
    expect(final.exitCode).toBe(0);
    expect(final.claude.result).toContain('Echo: step');
  });

  it('the host stopped (close) while the runtime is still starting the container: after a restart the job completes', async () => {
    const p = await place('stopped');
    await p.flag('split-run', 'hold-start');
    const host = spawnOwner(
      p.config,
      { runtime: p.runtime, prompt: `stop ${formatDirective('echo')}` },
      {
        ...key,
        ...p.flakyEnv,
      },
    );
    const { jobId } = (await host.waitFor((l) => l.event === 'started', 30_000)) as { jobId: string };
    await p.held('start');
    expect(await containerStatus(jobId)).toBe('created');
    // A graceful stop (the gateway restarting) while the container is Created; the runtime
    // finishes starting it a second later.
    host.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_000));
    await p.unflag('hold-start');
    await host.child;
    const sup = await p.open();
    const final = await endOf(sup, jobId);
    expect(final.status, `${final.errorCode}: ${final.error}`).toBe('completed');
    expect(final.errorCode).not.toBe(ErrorCodes.NO_RESULT);
    expect(final.exitCode).toBe(0);
  });
});
