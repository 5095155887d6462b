/**
 * The control API an owner of a state directory serves on its unix socket (0600 in a 0700
 * directory): plain HTTP/1.1, because Node speaks it on both ends with no dependency and a person
 * can debug it with `curl --unix-socket`.
 *
 *   POST /v1/call    {method, params}  →  {ok: true, result, seq} | {ok: false, error}
 *   GET  /v1/events  NDJSON: one `hello` (every job and session), then a message per change
 *
 * Clients keep a mirror of the records from the event stream, so their `status()` is a map
 * lookup like the owner's. Every message carries a sequence number; a record older than the one
 * a client holds is ignored (a call's reply and the stream race).
 */
import type { SerializedError } from '../../shared/errors.js';
import type { SupervisorInfo } from '../api.js';
import type { JobRecord, SessionRecord } from '../records.js';

export const CONTROL_PATHS = { call: '/v1/call', events: '/v1/events' } as const;

/** The largest request body accepted (a prompt is at most 100 KiB). */
export const MAX_CALL_BYTES = 1024 * 1024;

/** A client that lets this much pile up unread is disconnected (it reconnects and resyncs). */
export const MAX_BUFFERED_EVENT_BYTES = 8 * 1024 * 1024;

export type CallMethod = 'start' | 'output' | 'cancel' | 'cleanup' | 'info' | 'status';

export interface CallRequest {
  method: CallMethod;
  params?: Record<string, unknown>;
}

export type CallReply =
  | { ok: true; result: unknown; seq: number; job?: MirrorJob; session?: SessionRecord }
  | { ok: false; error: SerializedError };

/** A job as clients mirror it: everything but the prompt. */
export type MirrorJob = Omit<JobRecord, 'prompt'>;

export type StreamMessage =
  | {
      t: 'hello';
      seq: number;
      info: SupervisorInfo;
      workspacesDir: string;
      jobs: MirrorJob[];
      sessions: SessionRecord[];
    }
  | {
      t: 'job';
      seq: number;
      event: 'job:start' | 'job:running' | 'job:progress' | 'job:end' | null;
      job: MirrorJob;
      session?: SessionRecord;
    }
  | { t: 'session:removed'; seq: number; sessionId: string };

export function mirrorJob(job: JobRecord): MirrorJob {
  const { prompt: _prompt, ...rest } = job;
  return rest;
}
