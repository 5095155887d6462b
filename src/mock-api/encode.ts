/**
 * Turns a `MessageReply` into what the Messages API sends: the list of streaming events
 * (message_start … message_stop) or, for `stream: false`, one Message object. Pure and
 * deterministic; the pacing lives in `respond.ts`.
 */
import type { ReplyIds } from './ids.js';
import type { MessageReply, ReplyBlock, StopReason } from './types.js';

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

export interface EncodeInput {
  reply: MessageReply;
  ids: ReplyIds;
  model: string;
  inputTokens: number;
}

const TEXT_CHUNK_WORDS = 3;
const JSON_CHUNK_CHARS = 40;

/** Rough and deterministic: about four characters a token, as with English text. */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return Math.max(1, Math.ceil(text.length / 4));
}

export function textChunks(text: string): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [];
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += TEXT_CHUNK_WORDS)
    chunks.push(words.slice(i, i + TEXT_CHUNK_WORDS).join(''));
  return chunks.length > 0 ? chunks : [''];
}

function jsonChunks(json: string): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < json.length; i += JSON_CHUNK_CHARS) chunks.push(json.slice(i, i + JSON_CHUNK_CHARS));
  return chunks;
}

function stopReasonOf(reply: MessageReply): StopReason {
  return reply.stopReason ?? (reply.blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
}

function outputTokens(blocks: ReplyBlock[]): number {
  return blocks.reduce((n, b) => n + estimateTokens(b.type === 'text' ? b.text : b.input), 0);
}

function usage(inputTokens: number, output: number): Record<string, unknown> {
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: output,
  };
}

function finalBlock(block: ReplyBlock, index: number, ids: ReplyIds): Record<string, unknown> {
  return block.type === 'text'
    ? { type: 'text', text: block.text }
    : { type: 'tool_use', id: ids.toolUseId(index), name: block.name, input: block.input };
}

export function messageEvents({ reply, ids, model, inputTokens }: EncodeInput): SseEvent[] {
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: ids.messageId,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: usage(inputTokens, 1),
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  reply.blocks.forEach((block, index) => {
    const start =
      block.type === 'text'
        ? { type: 'text', text: '' }
        : { type: 'tool_use', id: ids.toolUseId(index), name: block.name, input: {} };
    events.push({
      event: 'content_block_start',
      data: { type: 'content_block_start', index, content_block: start },
    });
    const deltas =
      block.type === 'text'
        ? (block.chunks ?? textChunks(block.text)).map((text) => ({ type: 'text_delta', text }))
        : jsonChunks(JSON.stringify(block.input)).map((partial_json) => ({
            type: 'input_json_delta',
            partial_json,
          }));
    for (const delta of deltas) {
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta } });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push(
    {
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: stopReasonOf(reply), stop_sequence: null },
        usage: { output_tokens: outputTokens(reply.blocks) },
      },
    },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  return events;
}

export function messageJson({ reply, ids, model, inputTokens }: EncodeInput): Record<string, unknown> {
  return {
    id: ids.messageId,
    type: 'message',
    role: 'assistant',
    model,
    content: reply.blocks.map((b, i) => finalBlock(b, i, ids)),
    stop_reason: stopReasonOf(reply),
    stop_sequence: null,
    usage: usage(inputTokens, outputTokens(reply.blocks)),
  };
}

export function formatSse({ event, data }: SseEvent): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function errorTypeFor(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** The body the real API sends with an error status. */
export function errorBody(status: number, errorType?: string, message?: string): Record<string, unknown> {
  const type = errorType ?? errorTypeFor(status);
  return { type: 'error', error: { type, message: message ?? defaultErrorMessage(type) } };
}

function defaultErrorMessage(type: string): string {
  switch (type) {
    case 'authentication_error':
      return 'invalid x-api-key';
    case 'overloaded_error':
      return 'Overloaded';
    case 'rate_limit_error':
      return 'Number of request tokens has exceeded your per-minute rate limit';
    case 'not_found_error':
      return 'Not found';
    default:
      return `Mock ${type}`;
  }
}
