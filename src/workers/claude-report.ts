import type { ClaudeReport } from '../shared/protocol.js';
import { boundedJson, boundedString, type JsonBounds } from './bounded-value.js';

/**
 * What the report keeps of a stream-json event. The report goes to the main thread with every
 * progress message and into registry.json, and anything in the container can print any event:
 * every field is bounded, whatever the line held (the whole line is in the output file).
 */
export const REPORT_LIMITS = {
  /** Characters of the final result text kept (a cut text ends with a note that says so). */
  resultChars: 4096,
  /** Model name and result subtype. */
  shortChars: 200,
  /** Claude's session id: a UUID; anything else is ignored (it is passed to `--resume`). */
  sessionIdChars: 128,
  /** The `usage` object: about this many characters of JSON at most. */
  usage: { maxChars: 2048, maxDepth: 3, maxString: 200 } satisfies JsonBounds,
} as const;

export const resultCutNote = (length: number): string =>
  `\n[claude-pod] result cut: first ${REPORT_LIMITS.resultChars} of ${length} characters kept`;

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const str = (v: unknown, max: number): string | null =>
  typeof v === 'string' ? boundedString(v, max) : null;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const sessionId = (v: unknown): string | null =>
  typeof v === 'string' && v.length <= REPORT_LIMITS.sessionIdChars && SESSION_ID.test(v)
    ? boundedString(v, REPORT_LIMITS.sessionIdChars)
    : null;

/**
 * Folds Claude Code's stream-json events into what status() reports. Returns true when the
 * event was the final `result`.
 */
export function applyEvent(report: ClaudeReport, event: Record<string, unknown>): boolean {
  const type = event.type;
  if (report.sessionId === null) report.sessionId = sessionId(event.session_id);
  if (type === 'system' && event.subtype === 'init') {
    report.sessionId = sessionId(event.session_id) ?? report.sessionId;
    report.model = str(event.model, REPORT_LIMITS.shortChars) ?? report.model;
    return false;
  }
  if (type === 'result') {
    report.sessionId = sessionId(event.session_id) ?? report.sessionId;
    report.numTurns = num(event.num_turns);
    report.costUsd = num(event.total_cost_usd);
    report.durationMs = num(event.duration_ms);
    report.usage =
      event.usage && typeof event.usage === 'object' && !Array.isArray(event.usage)
        ? (boundedJson(event.usage, REPORT_LIMITS.usage) as Record<string, unknown>)
        : null;
    report.result =
      typeof event.result === 'string'
        ? boundedString(event.result, REPORT_LIMITS.resultChars, resultCutNote)
        : null;
    report.resultSubtype = str(event.subtype, REPORT_LIMITS.shortChars);
    report.isError = typeof event.is_error === 'boolean' ? event.is_error : null;
    return true;
  }
  return false;
}
