/**
 * The idle watchdog with the real Claude Code CLI in the real container (mock API): "idle" means
 * no output, no bytes through the job's API connection and no CPU — a stalled model stream is
 * idle, a long single streamed reply is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import type { JobStatus } from '../../src/supervisor/job-view.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { until } from './helpers/processes.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, type Stack } from './helpers/stack.js';

const env = await requireRuntime();

const endOf = (sup: Supervisor, jobId: string, timeoutMs: number): Promise<JobStatus> =>
  until(
    `the end of ${jobId}`,
    () => {
      const s = sup.status(jobId);
      return ['completed', 'failed', 'cancelled'].includes(s.status) ? s : undefined;
    },
    timeoutMs,
  );

describe.skipIf(!env.available)(`the idle watchdog (real runtime and CLI)${skipNote(env)}`, () => {
  describe('a stalled stream', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ idleTimeout: 4, startupTimeout: 60, metricsIntervalSeconds: 1 });
    });
    afterAll(async () => {
      await stack?.dispose();
    });

    it('no bytes and no CPU: the job fails with IDLE_TIMEOUT, and its clock stops at its end', async () => {
      const sup = stack.supervisor;
      const { jobId } = await sup.start({ prompt: `stall ${formatDirective('stall', { ms: 300_000 })}` });
      const final = await endOf(sup, jobId, 60_000);
      expect(final.status).toBe('failed');
      expect(final.errorCode).toBe(ErrorCodes.IDLE_TIMEOUT);
      expect(final.error).toBe('idle_timeout - No output for 4 seconds');
      // The init line came before the stall: output was seen, then nothing.
      expect(final.outputSize).toBeGreaterThan(0);
      const then = sup.status(jobId);
      expect(then.lastOutputSecondsAgo).toBeGreaterThanOrEqual(4);
      await new Promise((r) => setTimeout(r, 1_500));
      const later = sup.status(jobId);
      expect(later.lastOutputSecondsAgo).toBe(then.lastOutputSecondsAgo);
      expect(later.elapsedSeconds).toBe(then.elapsedSeconds);
      expect(await stack.containersLeft()).toEqual([]);
    });
  });

  describe('a single long streamed reply', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ idleTimeout: 30, startupTimeout: 60 });
    });
    afterAll(async () => {
      await stack?.dispose();
    });

    // Claude Code prints nothing while one reply streams (stream-json has one line per finished
    // block) and uses next to no CPU: only the proxy's activity file (ApiAccess.activityFile),
    // moved while bytes flow through the job's socket, keeps this job from IDLE_TIMEOUT after 30 s.
    it('150 s of one reply with idleTimeout 30: the job is not idle, and completes', async () => {
      const sup = stack.supervisor;
      const { jobId } = await sup.start({
        prompt: `long ${formatDirective('slow-stream', { count: 150, delay: 1000 })}`,
      });
      const final = await endOf(sup, jobId, 240_000);
      expect(final.status, `${final.errorCode}: ${final.error}`).toBe('completed');
      expect(final.claude.result).toContain('chunk 150');
    }, 300_000);
  });
});
