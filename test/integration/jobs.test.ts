import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerNameFor } from '../../src/runtime/labels.js';
import { formatDirective } from '../../src/mock-api/index.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import { openOwner } from '../../src/supervisor/create.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';
import { lastEvent, startStack, TEST_API_KEY, type Stack } from './helpers/stack.js';

const env = await requireRuntime();

describe.skipIf(!env.available)(
  `container jobs (real runtime, image and CLI; mock API)${skipNote(env)}`,
  () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ maxConcurrentJobs: 8, memory: '512m' });
    });
    afterAll(async () => {
      await stack?.dispose();
    });

    it('runs 8 jobs at once, each writing its own file in its own workspace', async () => {
      const sup = stack.supervisor;
      const started = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          sup.start({
            prompt: `Write file ${i}. ${formatDirective('write-file', { path: `file-${i}.txt`, content: `content of job ${i}\n` })}`,
          }),
        ),
      );
      expect(new Set(started.map((s) => s.sessionId)).size).toBe(8);
      const finals = await Promise.all(started.map((s) => stack.waitForEnd(s.jobId)));
      const sessions = sup.sessions();
      for (const [i, final] of finals.entries()) {
        expect(final.status, final.error ?? '').toBe('completed');
        const session = sessions.find((s) => s.sessionId === started[i]!.sessionId)!;
        expect(await readFile(join(session.workspaceDir, `file-${i}.txt`), 'utf8')).toBe(
          `content of job ${i}\n`,
        );
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
      // The real key reached the API; the container only ever had a capability token.
      const keys = new Set(stack.mock.requests.map((r) => r.headers['x-api-key']));
      expect(keys).toEqual(new Set([TEST_API_KEY]));
      expect(await stack.containersLeft()).toEqual([]);
    });

    it('takes a prompt that begins with "-" as a prompt', async () => {
      const { jobId } = await stack.supervisor.start({ prompt: `--version ${formatDirective('echo')}` });
      const final = await stack.waitForEnd(jobId);
      expect(final.status).toBe('completed');
      expect(final.claude.result).toContain('--version');
    });

    it('cancels a running job: SIGINT, grace, kill; output kept', async () => {
      const sup = stack.supervisor;
      const { jobId } = await sup.start({
        prompt: `stream ${formatDirective('slow-stream', { count: 200, delay: 200 })}`,
      });
      await new Promise<void>((resolve) => {
        const check = () => {
          const s = sup.status(jobId);
          if (s.status === 'running' && s.outputSize > 0 && s.metrics !== null) {
            sup.off('job:progress', check);
            resolve();
          }
        };
        sup.on('job:progress', check);
      });
      // Metrics are sampled from the runtime while it runs.
      const running = sup.status(jobId);
      expect(running.metrics!.memoryBytes).toBeGreaterThan(1024 * 1024);
      expect(running.metrics!.memoryLimitBytes).toBeGreaterThan(500 * 1000 * 1000);
      expect(running.metrics!.pids).toBeGreaterThanOrEqual(2);
      // Rootful podman gives the container a cgroup of its own: read without starting a process.
      if (env.available && !env.runtime.rootless) expect(running.metrics!.source).toBe('cgroup');
      expect(['active', 'processing', 'idle']).toContain(running.activityState);
      // While it runs: the container holds a capability token, never the host's key.
      const rt = env.available ? env.spec : (undefined as never);
      const inspected = await execa(rt.command, [
        ...rt.globalArgs,
        'container',
        'inspect',
        '--format',
        '{{json .Config.Env}} {{.HostConfig.NetworkMode}}',
        containerNameFor(jobId),
      ]);
      expect(inspected.stdout).not.toContain(TEST_API_KEY);
      expect(inspected.stdout).toMatch(/"ANTHROPIC_API_KEY=[A-Za-z0-9_-]{20,}"/);
      expect(inspected.stdout.trim().endsWith(' none')).toBe(true);
      const cancelled = await sup.cancel(jobId);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.errorCode).toBe(ErrorCodes.CANCELLED);
      const page = await sup.output(jobId);
      expect(page.size).toBeGreaterThan(0);
      expect(page.content).toContain('"subtype":"init"');
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

  it('a container killed for memory fails with OOM_KILLED', async () => {
    const stack = await startStack({ memory: '96m' });
    try {
      const { jobId } = await stack.supervisor.start({
        prompt: `hog ${formatDirective('memory-hog', { mb: 512 })}`,
      });
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
