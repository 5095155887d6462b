export interface SessionEvent {
  /** Milliseconds after the session's start. */
  at: number;
  bytes: Buffer;
}

export function sessionPlan(
  name: string,
  opts?: { durationMs?: number },
): { events: SessionEvent[]; totalBytes: number };

export function sessionDigest(
  name: string,
  opts?: { durationMs?: number },
): { bytes: number; sha256: string };
