import {
  ClaudePodError,
  diskQuota,
  ErrorCodes,
  idleTimeout,
  imageNotFound,
  serializeError,
  startupTimeout,
  type SerializedError,
} from '../shared/errors.js';
import type { ClaudeReport } from '../shared/protocol.js';
import type { DiskFull } from './disk-watch.js';
import type { TimerKind } from './timers.js';

/** Everything known about how a job's container ended. */
export interface ExitFacts {
  image: string;
  exitCode: number | null;
  signal: string | null;
  cancelled: boolean;
  timedOut: TimerKind | null;
  startupTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  oomKilled: boolean;
  /**
   * A filesystem the job writes was full: `killed` when the runner stopped the container for it,
   * else found full as the job ended.
   */
  diskFull: (DiskFull & { killed: boolean }) | null;
  /** The container no longer exists and its exit status could not be read. */
  containerLost: boolean;
  sawResult: boolean;
  report: ClaudeReport;
  stderrTail: string;
}

export interface Classified {
  status: 'completed' | 'failed' | 'cancelled';
  error: SerializedError | null;
}

const IMAGE_MISSING =
  /image not known|no such image|unable to find image|manifest unknown|repository .* not found/i;

const fail = (error: ClaudePodError): Classified => ({ status: 'failed', error: serializeError(error) });

/**
 * One place decides a job's end, in a fixed order (as execa does for its errors): cancel,
 * timeouts, a full disk, OOM, runtime failures, Claude's own error result, a missing result, the exit code.
 */
export function classifyExit(f: ExitFacts): Classified {
  const stderr = f.stderrTail.trim();
  const withStderr = (message: string) => (stderr ? `${message}: ${lastLine(stderr)}` : message);
  if (f.cancelled) {
    return {
      status: 'cancelled',
      error: serializeError(new ClaudePodError(ErrorCodes.CANCELLED, 'Job cancelled')),
    };
  }
  if (f.timedOut === 'startup') return fail(startupTimeout(f.startupTimeoutSeconds));
  if (f.timedOut === 'idle') return fail(idleTimeout(f.idleTimeoutSeconds));
  // A job that finished well on a full disk has not failed (as with a tool's OOM kill below).
  if (f.diskFull && (f.diskFull.killed || !(f.sawResult && f.exitCode === 0))) {
    const { path, availBytes, sizeBytes, killed } = f.diskFull;
    return fail(
      diskQuota(
        `disk_quota - ${path} is full (${mib(availBytes)} of ${mib(sizeBytes)} free)` +
          (killed ? '; the job was stopped' : ''),
        { path, availBytes, sizeBytes, exitCode: f.exitCode },
      ),
    );
  }
  // An OOM kill of a tool's process that Claude Code survived is not the job's failure.
  if (f.oomKilled && !(f.sawResult && f.exitCode === 0)) {
    return fail(
      new ClaudePodError(ErrorCodes.OOM_KILLED, 'Container was killed for exceeding its memory limit (OOM)', {
        details: { exitCode: f.exitCode },
      }),
    );
  }
  if (f.containerLost && !f.sawResult) {
    return fail(
      new ClaudePodError(ErrorCodes.CONTAINER_LOST, 'The job container disappeared before the job finished'),
    );
  }
  if (!f.sawResult && IMAGE_MISSING.test(stderr)) return fail(imageNotFound(f.image));
  if (!f.sawResult && (f.exitCode === 125 || f.exitCode === 126 || f.exitCode === 127)) {
    return fail(
      new ClaudePodError(
        ErrorCodes.RUNTIME_FAILED,
        withStderr(`The container runtime could not run the job (exit code ${f.exitCode})`),
        { details: { exitCode: f.exitCode } },
      ),
    );
  }
  if (f.report.isError === true) {
    return fail(
      new ClaudePodError(
        ErrorCodes.RESULT_ERROR,
        `Claude Code reported an error (${f.report.resultSubtype ?? 'error'}): ${f.report.result ?? 'no detail'}`,
        { details: { exitCode: f.exitCode, subtype: f.report.resultSubtype } },
      ),
    );
  }
  if (!f.sawResult) {
    return fail(
      new ClaudePodError(
        ErrorCodes.NO_RESULT,
        withStderr(`Claude Code ended without a result (exit code ${f.exitCode ?? f.signal ?? 'unknown'})`),
        { details: { exitCode: f.exitCode } },
      ),
    );
  }
  if (f.exitCode !== 0) {
    return fail(
      new ClaudePodError(ErrorCodes.EXIT_NONZERO, withStderr(`Claude Code exited with code ${f.exitCode}`), {
        details: { exitCode: f.exitCode },
      }),
    );
  }
  return { status: 'completed', error: null };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim());
  return (lines[lines.length - 1] ?? '').slice(0, 500);
}
