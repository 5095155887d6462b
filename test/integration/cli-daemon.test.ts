/**
 * The CLI as people use it — every command its own short process — against the real runtime,
 * image and Claude Code, with the mock API: a detached job runs to its end although no command
 * stays open (the `serve` daemon a command started supervises it, runs its watchdogs, sends its
 * notification, then exits by itself), and a `kill -9` of that daemon mid-stream loses no byte.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { releaseDisksUnder } from '../fixtures/disks.js';
import { createMockApi, formatDirective, type MockApi } from '../../src/mock-api/index.js';
import { containerNameFor, LABEL_OWNER } from '../../src/runtime/labels.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import type { ConfigInput } from '../../src/shared/config.js';
import { parseConfig } from '../../src/shared/config.js';
import { silentLogger } from '../../src/shared/logger.js';
import { openCliSupervisor } from '../../src/supervisor/cli-handle.js';
import { openOwner } from '../../src/supervisor/create.js';
import { ownerIdFor } from '../../src/supervisor/owner.js';
import { captureContainerLog, crashScenario } from './helpers/crash.js';
import { cliFor, jobOnDisk, lockHolderPid, processAlive, registryJobs, until } from './helpers/processes.js';
import { reapByLabel, requireRuntime, skipNote } from './helpers/runtime.js';
import { testWorkerThreadsConfig } from '../fixtures/worker-threads.js';

const env = await requireRuntime();
const cliEnv = { ANTHROPIC_API_KEY: 'sk-dummy-cli-test-key', CLAUDE_POD_SERVE_IDLE_EXIT: '2' };

describe.skipIf(!env.available)(`the CLI and its serve daemon (real runtime and CLI)${skipNote(env)}`, () => {
  let mock: MockApi;
  let hooks: Server;
  const notified: Array<Record<string, unknown>> = [];
  let dir: string;
  const daemons = new Set<number>();

  beforeAll(async () => {
    mock = await createMockApi({ host: '127.0.0.1', port: 0, scenarios: { crash: crashScenario(40, 150) } });
    hooks = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        notified.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-cli-'));
  });
  afterAll(async () => {
    for (const pid of daemons) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const name of ['detach', 'kill9', 'transient', 'silent']) {
      if (env.available)
        await reapByLabel(env.engine, `${LABEL_OWNER}=${ownerIdFor(join(dir, name, 'sessions'))}`);
    }
    await mock?.close();
    hooks?.close();
    await releaseDisksUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  const setup = async (name: string) => {
    const sessionsDir = join(dir, name, 'sessions');
    const config = {
      ...testWorkerThreadsConfig(),
      sessionsDir,
      workspacesDir: join(dir, name, 'workspaces'),
      apiBaseUrl: mock.url ?? '',
      network: 'none',
      startupTimeout: 60,
      idleTimeout: 5,
      metricsIntervalSeconds: 1,
      notifyWebhookUrl: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks/agent`,
      hooksToken: 'cli-test-hooks-token',
      ...(env.available ? { image: env.image, runtime: env.spec.kind } : {}),
    };
    const cli = await cliFor(config, join(dir, name), cliEnv);
    return { sessionsDir, cli };
  };

  it('run --detach, then status in three processes: the job completes; a stalled one fails IDLE_TIMEOUT with no command open; serve then exits', async () => {
    const { sessionsDir, cli } = await setup('detach');
    const started = await cli.json<{ jobId: string }>(['run', '--detach', `hi ${formatDirective('echo')}`]);
    const daemon = lockHolderPid(sessionsDir);
    if (daemon) daemons.add(daemon);
    for (let i = 0; i < 3; i++) {
      const s = await cli.json<{ status: string }>(['status', started.jobId]);
      expect(['pending', 'running', 'completed']).toContain(s.status);
      await new Promise((r) => setTimeout(r, 500));
    }
    const done = await jobOnDisk(sessionsDir, started.jobId, (j) => j.phase === 'ended', 45_000);
    expect(done.status, done.error?.message ?? '').toBe('completed');
    expect(done.exitCode).toBe(0);
    expect(daemon, 'a serve daemon owns the directory').not.toBeNull();
    const shown = await cli.json<{ status: string; claude: { result: string } }>(['status', started.jobId]);
    expect(shown.status).toBe('completed');
    expect(shown.claude.result).toContain('Echo: hi');

    // A model reply that stalls with no bytes: only the daemon's idle watchdog can end it, and no
    // CLI process is open while it does (the registry is read from disk).
    const stalled = await cli.json<{ jobId: string }>([
      'run',
      '--detach',
      `stall ${formatDirective('stall', { ms: 300_000 })}`,
    ]);
    const failed = await jobOnDisk(sessionsDir, stalled.jobId, (j) => j.phase === 'ended', 60_000);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe(ErrorCodes.IDLE_TIMEOUT);
    // Its notification went out from the daemon too.
    await until(
      'the notification of the stalled job',
      () => notified.some((n) => String(n.message).includes(stalled.jobId)),
      30_000,
    );
    // Nothing unfinished and no client: the daemon exits by itself (CLAUDE_POD_SERVE_IDLE_EXIT=2).
    const owner = lockHolderPid(sessionsDir) ?? daemon!;
    daemons.add(owner);
    await until('the serve daemon to exit', () => !processAlive(owner), 30_000, 200);
    expect(lockHolderPid(sessionsDir)).toBeNull();
  });

  it('kill -9 of the serve daemon mid-stream: the next command starts another, which re-attaches with no byte lost', async () => {
    const { sessionsDir, cli } = await setup('kill9');
    const started = await cli.json<{ jobId: string; sessionId: string }>([
      'run',
      '--detach',
      `crash test ${formatDirective('crash')}`,
    ]);
    const truth = captureContainerLog(
      env.available ? env.engine : (undefined as never),
      containerNameFor(started.jobId),
    );
    const first = lockHolderPid(sessionsDir)!;
    daemons.add(first);
    const outputFile = join(
      sessionsDir,
      'sessions',
      started.sessionId,
      'jobs',
      started.jobId,
      'output.jsonl',
    );
    // The tool turn is on disk and the final reply is streaming: kill the daemon now.
    await mock.waitForRequest(
      (r) =>
        JSON.stringify(r.body ?? '').includes('tool_result') &&
        JSON.stringify(r.body ?? '').includes('crash test'),
      60_000,
    );
    await until(
      'output on disk',
      async () => (await readFile(outputFile).catch(() => Buffer.alloc(0))).length > 0,
      30_000,
    );
    expect((await registryJobs(sessionsDir))[started.jobId]?.phase).not.toBe('ended');
    process.kill(first, 'SIGKILL');
    await until('the daemon gone', () => !processAlive(first), 10_000, 50);

    // Any job command finds the unfinished job and starts a new daemon.
    const seen = await cli.json<{ status: string }>(['status', started.jobId]);
    expect(['running', 'completed']).toContain(seen.status);
    const second = lockHolderPid(sessionsDir);
    if (second) daemons.add(second);
    expect(second).not.toBe(first);
    const done = await jobOnDisk(sessionsDir, started.jobId, (j) => j.phase === 'ended', 90_000);
    expect(done.status, done.error?.message ?? '').toBe('completed');
    // Byte for byte what the container printed: nothing lost, nothing doubled.
    expect(await readFile(outputFile)).toEqual(await truth);
  });

  it('run --detach while another command holds the directory for a moment: the job still runs to its end', async () => {
    const { sessionsDir, cli } = await setup('transient');
    // A read-only command on an idle directory opens it in-process for a moment (what `status`
    // does, here in this process); a `run --detach` in another process finds that owner and
    // starts its job there.
    for (const [k, v] of Object.entries(cliEnv)) vi.stubEnv(k, v);
    const config = parseConfig(JSON.parse(await readFile(cli.configFile, 'utf8')) as ConfigInput);
    const transient = await openCliSupervisor(config, { logger: silentLogger(), startsJobs: false });
    expect(transient.info().role).toBe('owner');
    let started: { jobId: string };
    try {
      started = await cli.json<{ jobId: string }>(['run', '--detach', `hi ${formatDirective('echo')}`]);
    } finally {
      await transient.close();
    }
    // No command is open any more: someone must still supervise the job.
    const done = await jobOnDisk(sessionsDir, started.jobId, (j) => j.phase === 'ended', 45_000);
    expect(done.status, done.error?.message ?? '').toBe('completed');
    const daemon = lockHolderPid(sessionsDir);
    if (daemon) daemons.add(daemon);
  });

  it('run --detach while the directory is held by an owner that never answers and then goes: a daemon takes over', async () => {
    const { sessionsDir, cli } = await setup('silent');
    // An owner that holds the lock but serves no control socket (a gateway that failed while
    // starting up, say), for three seconds.
    const config = JSON.parse(await readFile(cli.configFile, 'utf8')) as ConfigInput;
    const silent = await openOwner(config, { env: cliEnv, serveControl: false });
    const t0 = Date.now();
    const running = cli.json<{ jobId: string }>(['run', '--detach', `hi ${formatDirective('echo')}`], 40_000);
    await new Promise((r) => setTimeout(r, 3_000));
    await silent.close();
    const started = await running;
    expect(Date.now() - t0).toBeLessThan(15_000);
    const daemon = lockHolderPid(sessionsDir);
    if (daemon) daemons.add(daemon);
    const done = await jobOnDisk(sessionsDir, started.jobId, (j) => j.phase === 'ended', 45_000);
    expect(done.status, done.error?.message ?? '').toBe('completed');
  });
});
