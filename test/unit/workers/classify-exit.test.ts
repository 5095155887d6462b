import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { emptyClaudeReport } from '../../../src/shared/protocol.js';
import { classifyExit, type ExitFacts } from '../../../src/workers/classify-exit.js';

const base = (over: Partial<ExitFacts> = {}): ExitFacts => ({
  image: 'img',
  exitCode: 0,
  signal: null,
  cancelled: false,
  timedOut: null,
  startupTimeoutSeconds: 30,
  idleTimeoutSeconds: 120,
  oomKilled: false,
  diskFull: null,
  containerLost: false,
  sawResult: true,
  report: { ...emptyClaudeReport(), isError: false },
  stderrTail: '',
  ...over,
});

describe('classifyExit', () => {
  it('completes a clean run with a result', () => {
    expect(classifyExit(base())).toEqual({ status: 'completed', error: null });
  });
  it.each<[Partial<ExitFacts>, string, string]>([
    [{ cancelled: true, exitCode: 0 }, 'cancelled', ErrorCodes.CANCELLED],
    [{ timedOut: 'startup', sawResult: false }, 'failed', ErrorCodes.STARTUP_TIMEOUT],
    [{ timedOut: 'idle' }, 'failed', ErrorCodes.IDLE_TIMEOUT],
    [{ oomKilled: true, exitCode: 137, sawResult: false }, 'failed', ErrorCodes.OOM_KILLED],
    [
      { exitCode: 125, sawResult: false, stderrTail: 'Error: x: image not known' },
      'failed',
      ErrorCodes.IMAGE_NOT_FOUND,
    ],
    [{ exitCode: 127, sawResult: false }, 'failed', ErrorCodes.RUNTIME_FAILED],
    [{ exitCode: 1, report: { ...emptyClaudeReport(), isError: true } }, 'failed', ErrorCodes.RESULT_ERROR],
    [{ exitCode: 0, sawResult: false }, 'failed', ErrorCodes.NO_RESULT],
    [{ exitCode: 3 }, 'failed', ErrorCodes.EXIT_NONZERO],
    [{ containerLost: true, sawResult: false, exitCode: null }, 'failed', ErrorCodes.CONTAINER_LOST],
  ])('%j → %s %s', (over, status, code) => {
    const r = classifyExit(base(over));
    expect(r.status).toBe(status);
    expect(r.error?.code).toBe(code);
  });
  it('keeps the seed wording for timeouts', () => {
    expect(classifyExit(base({ timedOut: 'startup' })).error?.message).toBe(
      'startup_timeout - No output within 30 seconds',
    );
  });

  describe('a full disk', () => {
    const full = (killed: boolean) => ({
      path: '/ws/sess-1',
      availBytes: 512 * 1024,
      sizeBytes: 64 * 1024 * 1024,
      freeInodes: 100,
      inodes: 4096,
      killed,
    });
    it('fails with DISK_QUOTA when the runner stopped the job for it, whatever the exit', () => {
      const r = classifyExit(base({ diskFull: full(true), exitCode: 137, sawResult: false }));
      expect(r.status).toBe('failed');
      expect(r.error?.code).toBe(ErrorCodes.DISK_QUOTA);
      expect(r.error?.message).toBe(
        'disk_quota - /ws/sess-1 is full (0.5 MiB of 64.0 MiB free); the job was stopped',
      );
      expect(r.error?.details).toMatchObject({ path: '/ws/sess-1', sizeBytes: 64 * 1024 * 1024 });
      // Even a result and exit 0 that raced the kill: the job was stopped for its disk.
      expect(classifyExit(base({ diskFull: full(true) })).error?.code).toBe(ErrorCodes.DISK_QUOTA);
    });
    it('explains a job that failed on a disk found full at its end', () => {
      const r = classifyExit(base({ diskFull: full(false), exitCode: 1, sawResult: false }));
      expect(r.error?.code).toBe(ErrorCodes.DISK_QUOTA);
      expect(r.error?.message).not.toContain('stopped');
    });
    it('is not the failure of a job that completed on a full disk', () => {
      expect(classifyExit(base({ diskFull: full(false) }))).toEqual({ status: 'completed', error: null });
    });
    it('comes after cancel and the timeouts, before OOM', () => {
      expect(classifyExit(base({ diskFull: full(true), cancelled: true })).error?.code).toBe(
        ErrorCodes.CANCELLED,
      );
      expect(classifyExit(base({ diskFull: full(true), timedOut: 'idle' })).error?.code).toBe(
        ErrorCodes.IDLE_TIMEOUT,
      );
      expect(
        classifyExit(base({ diskFull: full(true), oomKilled: true, exitCode: 137, sawResult: false })).error
          ?.code,
      ).toBe(ErrorCodes.DISK_QUOTA);
    });
  });
});
