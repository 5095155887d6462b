import type { JobStatus } from '../supervisor/api.js';
import { ErrorCodes, type ErrorCode } from '../shared/errors.js';

/** The CLI's exit codes: a job's outcome, or how the command itself went. */
export const EXIT = {
  ok: 0,
  /** A job failed, or the command could not do what it was asked. */
  failed: 1,
  /** Bad arguments or options (usage). */
  usage: 2,
  /** The job was cancelled (the shell convention for SIGINT). */
  cancelled: 130,
} as const;

export function exitCodeForJob(job: Pick<JobStatus, 'status'>): number {
  switch (job.status) {
    case 'completed':
      return EXIT.ok;
    case 'cancelled':
      return EXIT.cancelled;
    case 'failed':
      return EXIT.failed;
    case 'pending':
    case 'running':
      return EXIT.ok;
  }
}

/** Errors that mean "called wrong" rather than "it did not work". */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.INVALID_ARGUMENT,
  ErrorCodes.INVALID_SESSION_ID,
  ErrorCodes.INVALID_CONFIG,
]);

export function exitCodeForError(code: ErrorCode): number {
  return USAGE_CODES.has(code) ? EXIT.usage : EXIT.failed;
}
