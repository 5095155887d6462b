/**
 * The lifecycle bugs of the issue, one test each, against the fake runtime (real processes, real
 * files, the real worker pool): ownership of a state directory, start() racing cleanup() and
 * close(), recovery after a failed listing, registry write failures, bounded waits, and what an
 * ended job reports. Each of these failed on the code before the lifecycle rebuild.
 */
import { existsSync, readdirSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, open as openFile, rm, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { execa } from 'execa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { parseConfig } from '../../../src/shared/config.js';
import { connectClient } from '../../../src/supervisor/create.js';
import { statePaths } from '../../../src/supervisor/state-paths.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { childLines, fakeWorld, until, type FakeWorld } from './fake-world.js';

const PROMPT = 'work';
// Real processes (a runtime call is a node process, a worker compiles through tsx): give a busy
// machine room. Every wait inside is bounded on its own.
vi.setConfig({ testTimeout: 60_000 });

let world: FakeWorld | null = null;
afterEach(async () => {
  await world?.dispose();
  world = null;
});

async function running(sup: Supervisor, jobId: string): Promise<void> {
  await until(`${jobId} running with output`, () => {
    const s = sup.status(jobId);
    return s.status === 'running' && s.outputSize > 0;
  });
}

/** An idle session: one job that ran to its end. */
async function idleSession(w: FakeWorld, sup: Supervisor): Promise<string> {
  const first = await sup.start({ prompt: PROMPT });
  expect((await w.waitForEnd(sup, first.jobId)).status).toBe('completed');
  return first.sessionId;
}

describe('one owner per state directory', () => {
  it('a second createSupervisor() in the same process is a client: closing it keeps the owner and its lock', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const owner = await world.open();
    const second = await world.open();
    expect(second).not.toBe(owner);
    await second.close();
    // The owner's lock is still there, naming this process.
    expect(existsSync(world.lockPath)).toBe(true);
    expect(second.info().role).toBe('client');
    // And the owner still works.
    const { jobId } = await owner.start({ prompt: PROMPT });
    await running(owner, jobId);
  });

  it('with a job running, a supervisor opened and closed at once (a CLI command) leaves the job running', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const first = await world.open();
    const { jobId } = await first.start({ prompt: PROMPT });
    await running(first, jobId);
    await first.close();
    const cli = await world.open();
    await cli.close();
    const next = await world.open();
    expect(next.status(jobId).status).toBe('running');
    expect(world.container(jobId)).toMatchObject({ status: 'running', alive: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(next.status(jobId).status).toBe('running');
    expect(world.container(jobId)?.alive).toBe(true);
  });
  it('another process owns the directory: opening it as owner is STATE_DIR_BUSY; a client sees and cancels its jobs', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const child = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve('test/fixtures/owner-child.mts'),
        JSON.stringify(world.config),
        JSON.stringify({ runtime: world.runtime(), inertGate: true, prompt: PROMPT }),
      ],
      { reject: false, buffer: false, stdin: 'ignore' },
    );
    try {
      const lines = childLines(child);
      const { jobId } = (await until('the owner process started a job', () =>
        lines.find((l) => l.event === 'started'),
      )) as { jobId: string };
      await expect(world.open({}, { ifBusy: 'error' })).rejects.toMatchObject({
        code: ErrorCodes.STATE_DIR_BUSY,
      });
      const client = await world.open();
      expect(client.info().role).toBe('client');
      await until('the job running, as the client sees it', () => client.status(jobId).status === 'running');
      const cancelled = await client.cancel(jobId, { timeoutMs: 10_000 });
      expect(cancelled.status).toBe('cancelled');
      await until('the owner saw it end', () => lines.find((l) => l.event === 'end' && l.jobId === jobId));
      await client.close();
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  });
});

describe('an owner that closes while a client calls it', () => {
  it.each(['with no job (its socket closes at once)', 'while it detaches a running job'] as const)(
    'a start() that reaches an owner in the middle of its close() (%s) goes to the next owner',
    async (when) => {
      world = await fakeWorld({
        FAKE_HOLD_MS: when === 'with no job (its socket closes at once)' ? '0' : '-1',
      });
      const first = await world.open();
      let held: string | null = null;
      if (when === 'while it detaches a running job') {
        held = (await first.start({ prompt: PROMPT })).jobId;
        await running(first, held);
      }
      let next: Supervisor | null = null;
      const client = await connectClient(parseConfig(world.config), {
        // What the CLI does: start the next owner (here, in this process) when none answers;
        // STATE_DIR_BUSY while the closing owner still holds the directory.
        onOwnerGone: async () => {
          next ??= await world!.open({}, { ifBusy: 'error' });
        },
      });
      try {
        const closing = first.close();
        const started = await client.start({ prompt: PROMPT });
        await closing;
        expect(next).not.toBeNull();
        expect(next!.status(started.jobId).jobId).toBe(started.jobId);
        if (held) expect(next!.status(held).status).toBe('running');
      } finally {
        await client.close();
      }
    },
  );
});

describe('start() racing other calls', () => {
  it('two concurrent start() calls on one idle session: one gets SESSION_BUSY', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const sup = await world.open();
    // An idle session needs a job that ended: cancel a held one.
    const first = await sup.start({ prompt: PROMPT });
    await running(sup, first.jobId);
    await sup.cancel(first.jobId);
    const results = await Promise.allSettled([
      sup.start({ prompt: PROMPT, sessionId: first.sessionId }),
      sup.start({ prompt: PROMPT, sessionId: first.sessionId }),
    ]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toMatchObject({ code: ErrorCodes.SESSION_BUSY });
  });

  it('cleanup() racing start(): a job start() returned is never removed', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '0' });
    let during: (() => void) | null = null;
    const gate = {
      grant: async () => {
        const hook = during;
        during = null;
        hook?.();
        return { socketDir: world!.dir, token: 'unit-test-token', kind: 'api-key' as const };
      },
      reattach: async () => undefined,
      revoke: async () => undefined,
      close: async () => undefined,
    };
    const sup = await world.open({}, { apiGate: gate });
    const sessionId = await idleSession(world, sup);
    let cleaned: Promise<unknown> = Promise.resolve();
    // cleanup() begins while start() is under way (when it asks for the job's credential).
    during = () => (cleaned = sup.cleanup({ olderThanSeconds: 0 }));
    const started = await sup.start({ prompt: PROMPT, sessionId }).then(
      (r) => r,
      (error: unknown) => error,
    );
    await cleaned;
    if (started instanceof Error) {
      expect(started).toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND });
      return;
    }
    const { jobId } = started as { jobId: string };
    expect(sup.status(jobId).sessionId).toBe(sessionId);
    expect(sup.sessions().map((s) => s.sessionId)).toContain(sessionId);
    expect((await world.waitForEnd(sup, jobId)).status).toBe('completed');
  });

  it('a start() that overlaps close() runs nothing after close() resolved', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const sup = await world.open();
    const started = sup.start({ prompt: PROMPT }).catch((error: unknown) => error);
    const closed = sup.close();
    const result = await started;
    await closed;
    // Closed means closed: the lock is released, and no container appears afterwards.
    expect(existsSync(world.lockPath)).toBe(false);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(world.containerNames()).toEqual([]);
    if (result instanceof Error) expect(result).toMatchObject({ code: ErrorCodes.SUPERVISOR_CLOSED });
  });

  it('cleanup() with sessionIdleTimeout 0 ("never") removes no session', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '0' });
    const sup = await world.open({ sessionIdleTimeout: 0 });
    const sessionId = await idleSession(world, sup);
    const { removedSessions } = await sup.cleanup();
    expect(removedSessions).toEqual([]);
    expect(sup.sessions().map((s) => s.sessionId)).toEqual([sessionId]);
  });

  it('maxPendingJobs 0 means no queue: a free slot starts, a busy pool is QUEUE_FULL', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const sup = await world.open({ maxConcurrentJobs: 1, maxPendingJobs: 0 });
    const first = await sup.start({ prompt: PROMPT });
    await expect(sup.start({ prompt: PROMPT })).rejects.toMatchObject({ code: ErrorCodes.QUEUE_FULL });
    await sup.cancel(first.jobId);
    const second = await sup.start({ prompt: PROMPT });
    await running(sup, second.jobId);
  });
});

describe('recovery when the runtime cannot answer', () => {
  it('one failed `ps` at start-up: the running job is neither failed nor reaped, and completes', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '2500' });
    const first = await world.open();
    const { jobId } = await first.start({ prompt: PROMPT });
    await running(first, jobId);
    await first.close();
    await world.failNext('ps');
    const second = await world.open();
    // Nothing concluded from a listing that failed.
    expect(second.status(jobId).status).toBe('running');
    expect(world.container(jobId)?.alive).toBe(true);
    const final = await world.waitForEnd(second, jobId);
    expect(final.status, final.error ?? '').toBe('completed');
    expect(final.exitCode).toBe(0);
    // The listing was asked again, and nothing was removed before the job ended by itself.
    const calls = world.calls().map((c) => c.split(' ')[0]);
    expect(calls.filter((v) => v === 'ps').length).toBeGreaterThanOrEqual(2);
  });
});

describe('faults never take the host down, and every wait is bounded', () => {
  it('a registry that cannot be written fails the job (STATE_WRITE_FAILED), with no unhandled rejection', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const sup = await world.open();
      const { jobId } = await sup.start({ prompt: PROMPT });
      await running(sup, jobId);
      // The registry's path becomes a directory: every write now fails (EISDIR on rename).
      await rm(world.registryPath, { force: true });
      await mkdir(world.registryPath);
      const final = await world.waitForEnd(sup, jobId);
      expect(final).toMatchObject({ status: 'failed', errorCode: ErrorCodes.STATE_WRITE_FAILED });
      // Nothing runs unrecorded: its container is gone.
      await until('the container removed', () => world!.container(jobId)?.alive !== true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('cancel() and close() return within their bound when the runtime hangs', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const sup = await world.open();
    const { jobId } = await sup.start({ prompt: PROMPT });
    await running(sup, jobId);
    await world.hang('kill');
    await world.hang('rm');
    let t0 = Date.now();
    const status = await sup.cancel(jobId, { timeoutMs: 1_000 });
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(status.jobId).toBe(jobId);
    t0 = Date.now();
    await sup.close({ timeoutMs: 1_000 });
    expect(Date.now() - t0).toBeLessThan(8_000);
  });

  it("a worker that dies leaves no open descriptor of its job's output file", async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    vi.stubEnv('CLAUDE_POD_FAULT_INJECTION', '1');
    const sup = await world.open();
    const { jobId } = await sup.start({ prompt: `[[fault:exit]] ${PROMPT}` });
    const final = await world.waitForEnd(sup, jobId);
    expect(final.errorCode).toBe(ErrorCodes.WORKER_CRASHED);
    const outputFds = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).includes(jobId);
      } catch {
        return false;
      }
    });
    expect(outputFds).toEqual([]);
  });

  it('a replay that differs from the output file on disk is reported, not dropped', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const first = await world.open();
    const { jobId, sessionId } = await first.start({ prompt: PROMPT });
    await running(first, jobId);
    await until('all output written', async () => {
      const { size } = await stat(outputFile(world!, sessionId, jobId));
      return size > 0 && size === first.status(jobId).outputSize;
    });
    await first.close();
    // The file a crashed run left differs from what the container printed: one byte changed.
    const file = await openFile(outputFile(world, sessionId, jobId), 'r+');
    await file.write(Buffer.from('X'), 0, 1, 2);
    await file.close();
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    const second = await world.open({}, { logger: pino({ level: 'debug' }, sink) });
    await until('the replay mismatch reported', () =>
      lines.find((l) => l.level >= 50 && /replay/i.test(l.msg) && /differ/i.test(l.msg)),
    );
    expect(second.status(jobId).status).toBe('running');
  });
});

function outputFile(w: FakeWorld, sessionId: string, jobId: string): string {
  const nested = join(w.dir, 'sessions', 'sessions', sessionId, 'jobs', jobId, 'output.jsonl');
  return existsSync(nested) ? nested : join(w.dir, 'sessions', sessionId, 'jobs', jobId, 'output.jsonl');
}

describe('what an ended job reports', () => {
  it('a job silent past idleTimeout fails with IDLE_TIMEOUT; its lastOutputSecondsAgo stops at its end', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1', FAKE_CPU_PERCENT: '0' });
    const sup = await world.open({ idleTimeout: 1 });
    const { jobId } = await sup.start({ prompt: PROMPT });
    const final = await world.waitForEnd(sup, jobId);
    expect(final).toMatchObject({ status: 'failed', errorCode: ErrorCodes.IDLE_TIMEOUT });
    const then = sup.status(jobId).lastOutputSecondsAgo;
    expect(then).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1_200));
    expect(sup.status(jobId).lastOutputSecondsAgo).toBe(then);
    expect(sup.status(jobId).elapsedSeconds).toBe(final.elapsedSeconds);
  });
});

describe('the idle watchdog counts bytes through the API connection', () => {
  it.each([
    ['flow through the API connection', true],
    ['do not flow', false],
  ] as const)('output with 2.5 s gaps, idleTimeout 1, while bytes %s', async (_what, traffic) => {
    // Two chunks 2.5 s apart, as Claude Code prints around one long streamed reply.
    world = await fakeWorld({
      FAKE_CHUNK_BYTES: '1013',
      FAKE_RATE_BYTES_PER_SEC: '400',
      FAKE_CPU_PERCENT: '0',
    });
    const activityFile = join(world.dir, 'activity');
    writeFileSync(activityFile, '');
    const gate = {
      grant: async () => ({
        socketDir: world!.dir,
        token: 'unit-test-token',
        kind: 'api-key' as const,
        activityFile,
      }),
      reattach: async () => ({ activityFile }),
      revoke: async () => undefined,
      close: async () => undefined,
    };
    const sup = await world.open({ idleTimeout: 1 }, { apiGate: gate });
    // The proxy moves the file's mtime while bytes flow.
    const touching = traffic
      ? setInterval(() => {
          const now = new Date();
          utimesSync(activityFile, now, now);
        }, 200)
      : null;
    try {
      const { jobId } = await sup.start({ prompt: PROMPT });
      const final = await world.waitForEnd(sup, jobId);
      if (traffic) expect(final.status, final.error ?? '').toBe('completed');
      else expect(final.errorCode).toBe(ErrorCodes.IDLE_TIMEOUT);
    } finally {
      if (touching) clearInterval(touching);
    }
  });
});

describe('the state directory is private', () => {
  it('sessions directory 0700; lock, registry and control socket 0600; an unknown session id is SESSION_NOT_FOUND', async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '0' });
    const sup = await world.open();
    await idleSession(world, sup);
    const sessionsDir = join(world.dir, 'sessions');
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    expect(await mode(sessionsDir)).toBe(0o700);
    expect(await mode(world.lockPath)).toBe(0o600);
    expect(await mode(world.registryPath)).toBe(0o600);
    const { controlSocket } = statePaths(sessionsDir, join(world.dir, 'workspaces'));
    expect((await stat(controlSocket)).isSocket()).toBe(true);
    expect(await mode(controlSocket)).toBe(0o600);
    // A well-formed id that names no session: never a new session made up on the spot.
    const error = (await sup
      .start({ prompt: PROMPT, sessionId: 'sess-nobody' })
      .catch((e: unknown) => e)) as {
      code?: string;
    };
    expect(error.code).toBe(ErrorCodes.SESSION_NOT_FOUND);
    expect(existsSync(join(world.dir, 'workspaces', 'sess-nobody'))).toBe(false);
  });
});

describe('session ids that name the state directory’s own files', () => {
  it.each(['registry.json', 'supervisor.lock'])(
    'start({sessionId: %j}) is a clean error, and nothing is created',
    async (sessionId) => {
      world = await fakeWorld({ FAKE_HOLD_MS: '0' });
      const sup = await world.open();
      await idleSession(world, sup);
      const error = (await sup.start({ prompt: PROMPT, sessionId }).catch((e: unknown) => e)) as {
        code?: string;
      };
      expect(error).toBeInstanceOf(Error);
      expect(error.code).not.toBe(ErrorCodes.INTERNAL);
      expect([ErrorCodes.SESSION_NOT_FOUND, ErrorCodes.INVALID_SESSION_ID]).toContain(error.code);
      expect(existsSync(join(world.dir, 'workspaces', sessionId))).toBe(false);
      expect((await stat(world.registryPath)).isFile()).toBe(true);
    },
  );
});
