/** Test helper: reads a Messages SSE body into events, and a small Messages-request builder. */
import { request as httpRequest } from 'node:http';

export interface ParsedEvent {
  event: string;
  data: Record<string, unknown>;
}

export function parseSse(text: string): ParsedEvent[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim().length > 0)
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '';
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

/** Rebuilds the final content blocks from the deltas, as a client would. */
export function assembleContent(events: ParsedEvent[]): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = [];
  const json: string[] = [];
  for (const { data } of events) {
    const index = data['index'] as number;
    if (data['type'] === 'content_block_start') {
      blocks[index] = { ...(data['content_block'] as Record<string, unknown>) };
      json[index] = '';
    } else if (data['type'] === 'content_block_delta') {
      const delta = data['delta'] as Record<string, string>;
      const block = blocks[index] as Record<string, unknown>;
      if (delta['type'] === 'text_delta') block['text'] = `${block['text'] as string}${delta['text']}`;
      else json[index] = `${json[index] ?? ''}${delta['partial_json']}`;
    } else if (data['type'] === 'content_block_stop') {
      const block = blocks[index] as Record<string, unknown>;
      if (block['type'] === 'tool_use') block['input'] = JSON.parse(json[index] ?? '{}');
    }
  }
  return blocks;
}

export type Message = { role: string; content: string | Record<string, unknown>[] };

export function messagesBody(
  messages: Message[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    model: 'claude-test-1',
    max_tokens: 4096,
    stream: true,
    tools: [{ name: 'Write' }, { name: 'Bash' }],
    messages,
    ...extra,
  };
}

export async function postMessages(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${baseUrl}/v1/messages?beta=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-test', ...headers },
    body: JSON.stringify(body),
  });
}

/** HTTP over a unix socket (fetch cannot without undici's Agent). */
export function requestOverSocket(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath, method, path, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
