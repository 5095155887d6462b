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
});
