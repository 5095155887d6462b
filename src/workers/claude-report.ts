import type { ClaudeReport } from '../shared/protocol.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Folds Claude Code's stream-json events into what status() reports. Returns true when the
 * event was the final `result` (the caller forces it into the output even past the size cap).
 */
export function applyEvent(report: ClaudeReport, event: Record<string, unknown>): boolean {
  const type = event.type;
  if (typeof event.session_id === 'string' && report.sessionId === null) report.sessionId = event.session_id;
  if (type === 'system' && event.subtype === 'init') {
    report.sessionId = str(event.session_id) ?? report.sessionId;
    report.model = str(event.model) ?? report.model;
    return false;
  }
  if (type === 'result') {
    report.sessionId = str(event.session_id) ?? report.sessionId;
    report.numTurns = num(event.num_turns);
    report.costUsd = num(event.total_cost_usd);
    report.durationMs = num(event.duration_ms);
    report.usage =
      event.usage && typeof event.usage === 'object' ? (event.usage as Record<string, unknown>) : null;
    report.result = str(event.result);
    report.resultSubtype = str(event.subtype);
    report.isError = typeof event.is_error === 'boolean' ? event.is_error : null;
    return true;
  }
  return false;
}
