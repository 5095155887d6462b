import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerNameFor } from '../../../src/runtime/labels.js';
import { formatDirective } from '../../../src/mock-api/index.js';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { openOwner } from '../../../src/supervisor/create.js';
import { mustHave, requireRuntime, skipNote } from '../helpers/runtime.js';
import { lastEvent, startStack, TEST_API_KEY, type Stack } from '../helpers/stack.js';
import { eventually, waitForStatus } from '../helpers/wait.js';

const env = await requireRuntime();

/** Seconds between SIGINT and the kill in these tests. */
const GRACE_SECONDS = 2;

/**
 * Runs as Claude Code's Bash tool and watches Claude from inside the container. It stops Claude
 * (SIGSTOP), so a signal sent to Claude stays pending where /proc shows it instead of being
 * handled, then logs `<ms> <SigPnd> <ShdPnd>` of Claude every 50 ms to the workspace until it
 * is killed itself. The log shows which signal reached Claude first and when, that the container
 * lived on through the grace period, and when it was killed (the lines stop: SIGKILL leaves no
 * trace of its own).
 */
const CANCEL_WITNESS = [
  'p=$$',
  'while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != claude ]; do p=$(awk \'/^PPid:/ {print $2}\' /proc/$p/status); done',
  'echo "claude $p" > /workspace/witness.log',
  'kill -STOP "$p"',
  'while :; do echo "$(date +%s%3N) $(awk \'/^(SigPnd|ShdPnd):/ {printf "%s ", $2}\' /proc/$p/status)" >> /workspace/witness.log; sleep 0.05; done',
].join('\n');

const SIGINT_BIT = 1n << 1n; // signal 2
const SIGTERM_BIT = 1n << 14n; // signal 15

interface Witnessed {
  claudePid: number;
  samples: Array<{ at: number; pending: bigint }>;
}

function readWitness(text: string): Witnessed {
  const [first = '', ...rest] = text.trim().split('\n');
  const samples = rest
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length === 3)
    .map(([at, sig, shd]) => ({ at: Number(at), pending: BigInt(`0x${sig}`) | BigInt(`0x${shd}`) }));
  return { claudePid: Number(first.split(' ')[1]), samples };
}

describe.skipIf(!env.available)(
  `container jobs (real runtime, image and CLI; mock API)${skipNote(env)}`,
  () => {
    const rt = mustHave.bind(null, env);
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ maxConcurrentJobs: 8, memory: '512m', cancelGraceSeconds: GRACE_SECONDS });
    });
    afterAll(async () => {
      await stack?.dispose();
    });

    it('runs 8 jobs at once, each writing its own file in its own workspace, owned by the right user', async () => {
      const sup = stack.supervisor;
      const started = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          sup.start({
            prompt: `Write file ${i}. ${formatDirective('write-file', { path: `file-${i}.txt`, content: `content of job ${i}\n` })}`,
          }),
        ),
      );
      expect(new Set(started.map((s) => s.sessionId)).size).toBe(8);
      const finals = await Promise.all(started.map((s) => stack.waitForEnd(s.jobId, undefined, 180_000)));
      const sessions = sup.sessions();
      // Rootless podman maps the container user to the user running claude-pod (keep-id): no file
      // of a subuid or of uid 1000 appears on the host. Rootful engines write as uid 1000.
      const owner = rt().runtime.rootless ? process.getuid!() : 1000;
      for (const [i, final] of finals.entries()) {
        expect(final.status, final.error ?? '').toBe('completed');
        const session = sessions.find((s) => s.sessionId === started[i]!.sessionId)!;
        const file = join(session.workspaceDir, `file-${i}.txt`);
        expect(await readFile(file, 'utf8')).toBe(`content of job ${i}\n`);
        expect((await stat(file)).uid).toBe(owner);
        const page = await sup.output(final.jobId, { limit: 1024 * 1024 });
        expect(page.hasMore).toBe(false);
        expect(page.size).toBe(final.outputSize);
        const result = lastEvent(page.content);
        expect(result.type).toBe('result');
        expect(final.claude.result).toBe(result.result);
        expect(final.claude.numTurns).toBe(result.num_turns);
        expect(final.claude.sessionId).toBe(result.session_id);
        expect(final.exitCode).toBe(0);
      }
      if (rt().runtime.rootless) {
        // Everything Claude wrote (workspaces, its own transcripts) belongs to the user.
        for (const top of [stack.config.workspacesDir as string, stack.config.sessionsDir as string]) {
          for (const entry of await readdir(top, { recursive: true })) {
            // The model-API proxy (its own process) renames its temporary files as it goes: a
            // file gone between the listing and the stat is not a finding.
            const info = await stat(join(top, entry)).catch((error: NodeJS.ErrnoException) => {
              if (error.code === 'ENOENT') return null;
              throw error;
            });
            if (info) expect(info.uid, entry).toBe(owner);
          }
        }
      }
      // The real key reached the API; the container only ever had a capability token.
      const keys = new Set(stack.mock.requests.map((r) => r.headers['x-api-key']));
      expect(keys).toEqual(new Set([TEST_API_KEY]));
      expect(await stack.containersLeft()).toEqual([]);
    }, 240_000);

    it('takes a prompt that begins with "-" as a prompt', async () => {
      const { jobId } = await stack.supervisor.start({ prompt: `--version ${formatDirective('echo')}` });
      const final = await stack.waitForEnd(jobId);
      expect(final.status).toBe('completed');
      expect(final.claude.result).toContain('--version');
    });

    it('status while it runs (metrics, output), then cancel: SIGINT, the grace period, the kill — seen from inside', async () => {
      const sup = stack.supervisor;
      const { jobId, sessionId } = await sup.start({
        prompt: `Watch. ${formatDirective('bash', { command: CANCEL_WITNESS, description: 'Witness the cancel' })}`,
      });
      const workspace = sup.sessions().find((s) => s.sessionId === sessionId)!.workspaceDir;
      const log = join(workspace, 'witness.log');
      // Claude is stopped and watched once the witness logs its first samples.
      await eventually('the witness to run', async () => {
        const w = readWitness(await readFile(log, 'utf8').catch(() => ''));
        return w.samples.length >= 3 ? w : undefined;
      });

      // Status with metrics from the runtime, and the output so far.
      if (rt().facts.stats) {
        const running = await waitForStatus(sup, jobId, (s) => s.metrics !== null, 'a metrics sample');
        expect(running.status).toBe('running');
        expect(running.metrics!.memoryBytes).toBeGreaterThan(1024 * 1024);
        expect(running.metrics!.memoryLimitBytes).toBe(512 * 1024 * 1024);
        expect(running.metrics!.pids).toBeGreaterThanOrEqual(3);
        // A container with a cgroup of its own is read without starting a process per sample.
        expect(running.metrics!.source).toBe(rt().facts.cgroupMetrics ? 'cgroup' : 'stats');
      } else {
        // Rootless on cgroups v1: no cgroup of its own and no `stats`; doctor says so.
        expect(sup.status(jobId)).toMatchObject({ status: 'running', metrics: null });
      }
      const running = sup.status(jobId);
      expect(['active', 'processing', 'idle']).toContain(running.activityState);
      expect(running.outputSize).toBeGreaterThan(0);
      expect((await sup.output(jobId)).content).toContain('"subtype":"init"');

      // While it runs: the container holds a capability token, never the host's key.
      const { spec } = rt();
      const inspected = await execa(spec.command, [
        ...spec.globalArgs,
        'container',
        'inspect',
        '--format',
        '{{json .Config.Env}} {{.HostConfig.NetworkMode}}',
        containerNameFor(jobId),
      ]);
      expect(inspected.stdout).not.toContain(TEST_API_KEY);
      expect(inspected.stdout).toMatch(/"ANTHROPIC_API_KEY=[A-Za-z0-9_-]{20,}"/);
      expect(inspected.stdout.trim().endsWith(' none')).toBe(true);

      const asked = Date.now();
      const cancelled = await sup.cancel(jobId);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.errorCode).toBe(ErrorCodes.CANCELLED);
      // SIGKILL: the container did not end by itself.
      expect(cancelled.exitCode).toBe(137);

      const w = readWitness(await readFile(log, 'utf8'));
      expect(w.claudePid).toBeGreaterThan(1);
      const interrupted = w.samples.find((s) => s.pending & SIGINT_BIT);
      expect(interrupted, 'SIGINT reached Claude Code').toBeDefined();
      // SIGINT came first: nothing else was pending before it, and it came soon after the cancel.
      expect(w.samples.filter((s) => s.at < interrupted!.at).every((s) => s.pending === 0n)).toBe(true);
      expect(interrupted!.pending & SIGTERM_BIT).toBe(0n);
      expect(interrupted!.at).toBeGreaterThanOrEqual(asked - 1_000);
      expect(interrupted!.at - asked).toBeLessThan(3_000);
      // The grace period was waited: the container lived on for it ...
      const last = w.samples.at(-1)!;
      expect(last.at - interrupted!.at).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 250);
      // ... and then it was killed: the samples stop soon after the grace period, with SIGINT
      // still pending (the stopped Claude never ran again) and no SIGTERM ever sent.
      expect(last.at - interrupted!.at).toBeLessThan(GRACE_SECONDS * 1000 + 3_000);
      expect(w.samples.every((s) => (s.pending & SIGTERM_BIT) === 0n)).toBe(true);
      expect(last.pending & SIGINT_BIT).toBe(SIGINT_BIT);
      const page = await sup.output(jobId);
      expect(page.size).toBeGreaterThan(0);
      expect(await stack.containersLeft()).toEqual([]);
    });

    it('fails with the image-not-found error before anything runs', async () => {
      const other = await startStack({ image: 'localhost/claude-pod-no-such-image:nope' });
      try {
        await expect(other.supervisor.start({ prompt: 'hi' })).rejects.toMatchObject({
          code: ErrorCodes.IMAGE_NOT_FOUND,
          message: 'Container image not found: localhost/claude-pod-no-such-image:nope',
        });
        expect(other.supervisor.jobs()).toEqual([]);
      } finally {
        await other.dispose();
      }
    });

    it('fails with the no-authentication error when the host has no credential', async () => {
      const sup = await openOwner(
        {
          ...stack.config,
          sessionsDir: join(stack.dir, 'noauth-sessions'),
          credentialsPath: join(stack.dir, 'no-such-credentials.json'),
        },
        { env: {} },
      );
      try {
        await expect(sup.start({ prompt: 'hi' })).rejects.toMatchObject({ code: ErrorCodes.NO_AUTH });
        expect(sup.jobs()).toEqual([]);
        expect(sup.sessions()).toEqual([]);
      } finally {
        await sup.close();
      }
    });
  },
);

describe.skipIf(!env.available)(`job failures (real runtime)${skipNote(env)}`, () => {
  const rt = mustHave.bind(null, env);

  it('startup timeout: no output within startupTimeout kills the container', async () => {
    // 0.2 s is shorter than any container start, so no output can arrive in time.
    const stack = await startStack({ startupTimeout: 0.2 });
    try {
      const { jobId } = await stack.supervisor.start({ prompt: `hi ${formatDirective('echo')}` });
      const final = await stack.waitForEnd(jobId);
      expect(final.status).toBe('failed');
      expect(final.errorCode).toBe(ErrorCodes.STARTUP_TIMEOUT);
      expect(final.error).toBe('startup_timeout - No output within 0.2 seconds');
      expect(await stack.containersLeft()).toEqual([]);
    } finally {
      await stack.dispose();
    }
  });

  it('idle timeout: a model turn that stalls kills the container', async () => {
    const stack = await startStack({ idleTimeout: 4 });
    try {
      const { jobId } = await stack.supervisor.start({
        prompt: `wait ${formatDirective('stall', { ms: 120000 })}`,
      });
      const final = await stack.waitForEnd(jobId);
      expect(final.status).toBe('failed');
      expect(final.errorCode).toBe(ErrorCodes.IDLE_TIMEOUT);
      expect(final.error).toBe('idle_timeout - No output for 4 seconds');
      expect(final.outputSize).toBeGreaterThan(0);
      expect(await stack.containersLeft()).toEqual([]);
    } finally {
      await stack.dispose();
    }
  });

  it('requireLimits: a container over its memory limit fails with OOM_KILLED, or the job is refused where limits are ignored', async () => {
    const stack = await startStack({ memory: '96m', requireLimits: true });
    try {
      const start = stack.supervisor.start({ prompt: `hog ${formatDirective('memory-hog', { mb: 512 })}` });
      if (!rt().facts.limits) {
        // Rootless on cgroups v1 would run it with no limit at all: refused before anything runs.
        await expect(start).rejects.toMatchObject({
          code: ErrorCodes.LIMITS_NOT_ENFORCED,
          details: { missing: ['memory', 'CPU', 'PID'] },
        });
        expect(stack.supervisor.jobs()).toEqual([]);
        expect(await stack.containersLeft()).toEqual([]);
        return;
      }
      const { jobId } = await start;
      const final = await stack.waitForEnd(jobId);
      expect(final.status).toBe('failed');
      expect(final.errorCode).toBe(ErrorCodes.OOM_KILLED);
      expect(final.exitCode).toBe(137);
      expect(await stack.containersLeft()).toEqual([]);
    } finally {
      await stack.dispose();
    }
  });

  it('a result with is_error fails the job with RESULT_ERROR', async () => {
    const stack = await startStack();
    try {
      const { jobId } = await stack.supervisor.start({
        // 400 is not retried by the CLI (401/529 are, for about three minutes).
        prompt: `err ${formatDirective('error', { status: 400, type: 'invalid_request_error' })}`,
      });
      const final = await stack.waitForEnd(jobId);
      expect(final.status).toBe('failed');
      expect(final.errorCode).toBe(ErrorCodes.RESULT_ERROR);
    } finally {
      await stack.dispose();
    }
  });
});
