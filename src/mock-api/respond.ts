/**
 * Writes replies onto the HTTP response: SSE with pacing (delays, stalls, a dropped stream) or a
 * single JSON body. Every wait ends early when `signal` aborts (client gone or mock closing).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { errorBody, formatSse, messageEvents, messageJson, type EncodeInput } from './encode.js';
import type { ErrorReply, MessageReply } from './types.js';

/** Resolves true when the time passed, false when aborted first. */
async function sleep(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms === undefined || ms <= 0) return true;
  try {
    await sleepFor(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, reply: ErrorReply, requestId: string): void {
  const headers: Record<string, string> = { 'request-id': requestId };
  if (reply.shouldRetry !== undefined) headers['x-should-retry'] = String(reply.shouldRetry);
  sendJson(res, reply.status, errorBody(reply.status, reply.errorType, reply.message), headers);
}

export async function sendMessage(
  res: ServerResponse,
  input: EncodeInput & { reply: MessageReply },
  stream: boolean,
  signal: AbortSignal,
): Promise<void> {
  const pacing = input.reply.pacing ?? {};
  if (!(await sleep(pacing.headersDelayMs, signal))) return;
  if (!stream) {
    if (!(await sleep(pacing.stallMs, signal))) return;
    if (pacing.dropAfterEvents !== undefined) {
      res.destroy();
      return;
    }
    sendJson(res, 200, messageJson(input), { 'request-id': input.ids.requestId });
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': input.ids.requestId,
  });
  res.flushHeaders();
  const events = messageEvents(input);
  for (const [i, event] of events.entries()) {
    if (pacing.dropAfterEvents !== undefined && i >= pacing.dropAfterEvents) {
      res.destroy();
      return;
    }
    if (event.event === 'content_block_delta' && !(await sleep(pacing.deltaDelayMs, signal))) return;
    if (signal.aborted) return;
    res.write(formatSse(event));
    if (i === 0 && !(await sleep(pacing.stallMs, signal))) return;
  }
  res.end();
}
