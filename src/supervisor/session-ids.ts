import { randomBytes } from 'node:crypto';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

export const MAX_SESSION_ID_LENGTH = 128;
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Session ids name directories under sessionsDir and workspacesDir, so a caller's id must not be
 * able to point anywhere else: letters, digits, `.`, `_`, `-`, no leading dot, no `..`, bounded.
 */
export function validateSessionId(value: unknown): string {
  const fail = (why: string) =>
    new ClaudePodError(ErrorCodes.INVALID_SESSION_ID, `Invalid session_id: ${why}`, {
      details: { reason: why },
    });
  if (typeof value !== 'string') throw fail('it must be a string');
  if (value.length === 0) throw fail('it is empty');
  if (value.length > MAX_SESSION_ID_LENGTH)
    throw fail(`it is longer than ${MAX_SESSION_ID_LENGTH} characters`);
  if (!SESSION_ID.test(value) || value.includes('..')) {
    throw fail('use only letters, digits, ".", "_" and "-" (no path separators, no "..", no leading dot)');
  }
  return value;
}

export const newSessionId = (): string => `sess-${randomBytes(8).toString('hex')}`;
export const newJobId = (): string => `job-${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;

/** Job ids come back from callers too (status/output/cancel); the same rule keeps them inert. */
export function validateJobId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128 || !SESSION_ID.test(value)) {
    throw new ClaudePodError(
      ErrorCodes.INVALID_ARGUMENT,
      'Invalid job_id: expected an id returned by start',
      {
        details: { field: 'job_id' },
      },
    );
  }
  return value;
}
