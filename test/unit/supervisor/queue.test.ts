import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { fakeStack } from './fake-runtime-stack.js';

describe('the pool is the concurrency limit (fake runtime)', () => {
  let stack: Awaited<ReturnType<typeof fakeStack>>;
  beforeEach(async () => {
    vi.stubEnv('FAKE_RUNTIME_STATE', join('/tmp', `fake-rt-queue-${process.pid}-${Date.now()}`));
    vi.stubEnv('FAKE_STREAM', resolve('test/fixtures/streams/simple.jsonl'));
    // Print the recording, then stay up until signalled: a job that runs until cancelled.
    vi.stubEnv('FAKE_HOLD_MS', '-1');
    stack = await fakeStack({ maxConcurrentJobs: 1, cancelGraceSeconds: 0.2 });
  });
  afterEach(async () => {
    await stack.dispose();
  });

  it('keeps the second job pending until the first ends; a pending job cancels without running', async () => {
    const { sup } = stack;
    const first = await sup.start({ prompt: 'one' });
    const second = await sup.start({ prompt: 'two' });
    const third = await sup.start({ prompt: 'three' });
    await new Promise<void>((r) => {
      const check = () =>
        sup.status(first.jobId).status === 'running' && (sup.off('job:running', check), r());
      sup.on('job:running', check);
      check();
    });
    expect(sup.status(second.jobId).status).toBe('pending');
    expect(sup.sessions().find((s) => s.sessionId === second.sessionId)?.activeJob).toMatchObject({
      jobId: second.jobId,
      status: 'pending',
    });

    const cancelledPending = await sup.cancel(second.jobId);
    expect(cancelledPending.status).toBe('cancelled');
    expect(cancelledPending.errorCode).toBe(ErrorCodes.CANCELLED);
    expect(cancelledPending.startedAt).toBeNull();
    expect(sup.status(third.jobId).status).toBe('pending');

    // Ending the first lets the third run.
    expect((await sup.cancel(first.jobId)).status).toBe('cancelled');
    await new Promise<void>((r) => {
      const check = () =>
        sup.status(third.jobId).status === 'running' && (sup.off('job:running', check), r());
      sup.on('job:running', check);
      check();
    });
    expect((await sup.cancel(third.jobId)).status).toBe('cancelled');
  });

  it('answers status() from its snapshot in well under a millisecond', async () => {
    const { sup } = stack;
    const { jobId } = await sup.start({ prompt: 'one' });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) sup.status(jobId);
    const perCallNs = Number(process.hrtime.bigint() - t0) / 1000;
    expect(perCallNs).toBeLessThan(1_000_000);
    await sup.cancel(jobId);
  });

  it('rejects bad input with stable codes', async () => {
    const { sup } = stack;
    await expect(sup.start({ prompt: '' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(sup.start({ prompt: 'x'.repeat(200 * 1024) })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
    await expect(sup.start({ prompt: 42 as unknown as string })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
    expect(() => sup.status('job-unknown')).toThrow(
      expect.objectContaining({ code: ErrorCodes.JOB_NOT_FOUND }),
    );
    expect(() => sup.status('../etc')).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    await expect(sup.output('job-unknown')).rejects.toMatchObject({ code: ErrorCodes.JOB_NOT_FOUND });
    await expect(sup.cancel('job-unknown')).rejects.toMatchObject({ code: ErrorCodes.JOB_NOT_FOUND });
  });
});
