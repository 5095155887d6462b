/**
 * Every error claude-pod raises carries a stable `code`. Callers (and tests) branch on the code,
 * never on the message; the message is for people and keeps the seed plugin's wording where the
 * seed had one. Errors cross the worker-thread boundary as plain objects (`serializeError`) and
 * are rebuilt on the other side (`deserializeError`) — the `Symbol.for` brand makes
 * `isClaudePodError` work across realms, where `instanceof` does not.
 */
export const ErrorCodes = {
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_SESSION_ID: 'INVALID_SESSION_ID',
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  SESSION_BUSY: 'SESSION_BUSY',
  QUEUE_FULL: 'QUEUE_FULL',
  SUPERVISOR_CLOSED: 'SUPERVISOR_CLOSED',
  STATE_DIR_BUSY: 'STATE_DIR_BUSY',
  STATE_WRITE_FAILED: 'STATE_WRITE_FAILED',
  OWNER_UNREACHABLE: 'OWNER_UNREACHABLE',
  RUNTIME_MISSING: 'RUNTIME_MISSING',
  RUNTIME_FAILED: 'RUNTIME_FAILED',
  IMAGE_NOT_FOUND: 'IMAGE_NOT_FOUND',
  LIMITS_NOT_ENFORCED: 'LIMITS_NOT_ENFORCED',
  NO_AUTH: 'NO_AUTH',
  AUTH_EXPIRED: 'AUTH_EXPIRED',
  STARTUP_TIMEOUT: 'STARTUP_TIMEOUT',
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  OOM_KILLED: 'OOM_KILLED',
  DISK_QUOTA: 'DISK_QUOTA',
  CANCELLED: 'CANCELLED',
  EXIT_NONZERO: 'EXIT_NONZERO',
  RESULT_ERROR: 'RESULT_ERROR',
  NO_RESULT: 'NO_RESULT',
  CONTAINER_LOST: 'CONTAINER_LOST',
  ENGINE_UNREACHABLE: 'ENGINE_UNREACHABLE',
  WORKSPACE_SYNC_FAILED: 'WORKSPACE_SYNC_FAILED',
  WORKER_CRASHED: 'WORKER_CRASHED',
  SETUP_FAILED: 'SETUP_FAILED',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const BRAND = Symbol.for('claude-pod.error');

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class ClaudePodError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly [BRAND] = true;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClaudePodError';
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): SerializedError {
    return serializeError(this);
  }
}

export function isClaudePodError(value: unknown): value is ClaudePodError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export function serializeError(error: unknown): SerializedError {
  if (isClaudePodError(error)) {
    return error.details === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, details: error.details };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: ErrorCodes.INTERNAL, message };
}

export function deserializeError(data: SerializedError): ClaudePodError {
  return new ClaudePodError(data.code, data.message, data.details ? { details: data.details } : undefined);
}

// Constructors for the errors whose wording people already know from the seed plugin.
export const imageNotFound = (image: string): ClaudePodError =>
  new ClaudePodError(ErrorCodes.IMAGE_NOT_FOUND, `Container image not found: ${image}`, {
    details: { image },
  });

export const noAuth = (): ClaudePodError =>
  new ClaudePodError(
    ErrorCodes.NO_AUTH,
    'No authentication available. Set ANTHROPIC_API_KEY or have ~/.claude/.credentials.json',
  );

export const startupTimeout = (seconds: number): ClaudePodError =>
  new ClaudePodError(ErrorCodes.STARTUP_TIMEOUT, `startup_timeout - No output within ${seconds} seconds`, {
    details: { seconds },
  });

export const idleTimeout = (seconds: number): ClaudePodError =>
  new ClaudePodError(ErrorCodes.IDLE_TIMEOUT, `idle_timeout - No output for ${seconds} seconds`, {
    details: { seconds },
  });

export const jobNotFound = (jobId: string): ClaudePodError =>
  new ClaudePodError(ErrorCodes.JOB_NOT_FOUND, `Job not found: ${jobId}`, { details: { jobId } });

export const sessionNotFound = (sessionId: string): ClaudePodError =>
  new ClaudePodError(ErrorCodes.SESSION_NOT_FOUND, `Session not found: ${sessionId}`, {
    details: { sessionId },
  });

/** The session's workspace or Claude state filled its size-limited filesystem (or that could not be set up). */
export const diskQuota = (message: string, details: Record<string, unknown> = {}): ClaudePodError =>
  new ClaudePodError(ErrorCodes.DISK_QUOTA, message, { details });
