import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockApi, type MockApi } from '../../../src/mock-api/index.js';
import { assembleContent, messagesBody, parseSse, postMessages, requestOverSocket } from './sse-reader.js';

const WORKDIR_NOTE = {
  role: 'system',
  content: [{ type: 'text', text: ' - Primary working directory: /work/job-1\n' }],
};

let api: MockApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function start(options: Parameters<typeof createMockApi>[0] = {}): Promise<MockApi & { url: string }> {
  api = await createMockApi(options);
  return api as MockApi & { url: string };
}

describe('mock Messages API over TCP', () => {
  it('answers the probes, count_tokens and a 404 shaped like the API', async () => {
    const { url } = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${url}/`)).status).toBe(200);
    const count = await fetch(`${url}/v1/messages/count_tokens`, {
      method: 'POST',
      body: JSON.stringify({ a: 'b' }),
    });
    expect(await count.json()).toEqual({ input_tokens: expect.any(Number) as number });
    const missing = await fetch(`${url}/v1/complete`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('streams a text reply in the Messages event order and records the request with its credential', async () => {
    const mock = await start();
    const res = await postMessages(mock.url, messagesBody([{ role: 'user', content: 'hello there' }]));
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());
    const kinds = [...new Set(events.map((e) => e.event))];
    expect(kinds).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(assembleContent(events)).toEqual([{ type: 'text', text: 'Echo: hello there' }]);
    expect(events.at(-2)?.data).toMatchObject({
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: expect.any(Number) as number },
    });

    const [recorded] = mock.messageRequests();
    expect(recorded).toMatchObject({
      method: 'POST',
      url: '/v1/messages?beta=true',
      path: '/v1/messages',
      scenario: 'echo',
    });
    expect(recorded?.headers['x-api-key']).toBe('sk-test');
    expect(recorded?.body).toMatchObject({ messages: [{ role: 'user', content: 'hello there' }] });
  });

  it('answers stream:false with one Message object', async () => {
    const { url } = await start();
    const res = await postMessages(url, messagesBody([{ role: 'user', content: 'hi' }], { stream: false }));
    expect(await res.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Echo: hi' }],
      stop_reason: 'end_turn',
    });
  });

  it('runs the write-file flow: Write tool_use with an absolute path, then "Done." after the tool_result', async () => {
    const { url } = await start();
    const prompt = '[[mock:write-file path=hello.txt content="hi\\n"]] write it';
    const first = assembleContent(
      parseSse(
        await (
          await postMessages(url, messagesBody([WORKDIR_NOTE, { role: 'user', content: prompt }]))
        ).text(),
      ),
    );
    expect(first).toEqual([
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_mock_/) as string,
        name: 'Write',
        input: { file_path: '/work/job-1/hello.txt', content: 'hi\n' },
      },
    ]);
    const toolUseId = (first[0] as { id: string }).id;
    const followUp = messagesBody([
      WORKDIR_NOTE,
      { role: 'user', content: prompt },
      { role: 'assistant', content: first },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUseId, content: 'File created' }] },
    ]);
    const events = parseSse(await (await postMessages(url, followUp)).text());
    expect(assembleContent(events)).toEqual([{ type: 'text', text: 'Done.' }]);
  });

  it('uses the default scenario and params, and setScenario changes them', async () => {
    const mock = await start({ scenario: 'bash', params: { command: 'ls -la' } });
    const first = await postMessages(
      mock.url,
      messagesBody([{ role: 'user', content: 'go' }], { stream: false }),
    );
    expect(await first.json()).toMatchObject({
      content: [{ type: 'tool_use', name: 'Bash', input: { command: 'ls -la' } }],
      stop_reason: 'tool_use',
    });
    mock.setScenario('multi-turn');
    const history = [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'two' },
      { role: 'user', content: 'three' },
    ];
    const second = await postMessages(mock.url, messagesBody(history, { stream: false }));
    expect(await second.json()).toMatchObject({
      content: [{ text: 'Earlier messages: 2 (user 1, assistant 1).' }],
    });
  });

  it('answers side requests (haiku, no tools) with plain text even when the prompt holds a directive', async () => {
    const mock = await start();
    const body = messagesBody([{ role: 'user', content: '[[mock:bash command=rm]] title please' }], {
      model: 'claude-haiku-4-5',
      tools: [],
      stream: false,
    });
    expect(await (await postMessages(mock.url, body)).json()).toMatchObject({
      content: [{ type: 'text', text: 'Mock session' }],
    });
    expect(mock.requests[0]?.scenario).toBe('side');
  });

  it('limits tool calls of a custom scenario to maxToolTurns', async () => {
    const { url } = await start({
      scenario: () => ({
        kind: 'message',
        blocks: [{ type: 'tool_use', name: 'Bash', input: { command: 'true' } }],
      }),
      maxToolTurns: 1,
    });
    const history = [
      { role: 'user', content: 'loop' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: '' }] },
    ];
    const json = (await (await postMessages(url, messagesBody(history, { stream: false }))).json()) as {
      content: { type: string }[];
    };
    expect(json.content.map((b) => b.type)).toEqual(['text']);
  });

  it('answers an error status with an Anthropic error body, and `times` lets later attempts succeed', async () => {
    const { url } = await start();
    const body = messagesBody([{ role: 'user', content: '[[mock:error status=529 times=1]]' }]);
    const failed = await postMessages(url, body);
    expect(failed.status).toBe(529);
    expect(failed.headers.get('request-id')).toMatch(/^req_mock_/);
    expect(await failed.json()).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    expect((await postMessages(url, body)).status).toBe(200);
    const auth = await postMessages(
      url,
      messagesBody([{ role: 'user', content: '[[mock:error status=401]]' }]),
    );
    expect(await auth.json()).toMatchObject({ error: { type: 'authentication_error' } });
  });

  it('rejects a body that is not a Messages request with 400', async () => {
    const { url } = await start();
    const res = await postMessages(url, { nope: true });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('gives byte-identical streams for identical requests', async () => {
    const { url } = await start();
    const body = messagesBody([{ role: 'user', content: '[[mock:bash command="echo hi"]]' }]);
    const a = await (await postMessages(url, body)).text();
    const b = await (await postMessages(url, body)).text();
    expect(a).toBe(b);
    const other = await createMockApi();
    try {
      expect(await (await postMessages(other.url as string, body)).text()).toBe(a);
    } finally {
      await other.close();
    }
  });

  it('spaces slow-stream deltas and reports each request as an event', async () => {
    const mock = await start();
    const seen = mock.waitForRequest((r) => r.scenario === 'slow-stream');
    const startedAt = Date.now();
    const res = await postMessages(
      mock.url,
      messagesBody([{ role: 'user', content: '[[mock:slow-stream count=4 delay=40]]' }]),
    );
    expect((await seen).seq).toBe(1);
    const events = parseSse(await res.text());
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
    expect(assembleContent(events)).toEqual([{ type: 'text', text: 'chunk 1 chunk 2 chunk 3 chunk 4' }]);
  });

  it('stalls after message_start until closed, and close() cuts the open stream', async () => {
    const mock = await start();
    const res = await postMessages(
      mock.url,
      messagesBody([{ role: 'user', content: '[[mock:stall ms=60000]]' }]),
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: message_start');
    const closed = mock.close();
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'ended';
      })(),
    ).rejects.toThrow('terminated');
    await closed;
  });

  it('drops the connection mid-stream for the drop scenario', async () => {
    const { url } = await start();
    const res = await postMessages(url, messagesBody([{ role: 'user', content: '[[mock:drop after=3]]' }]));
    await expect(res.text()).rejects.toThrow();
  });

  it('names an unknown directive in a text reply instead of failing', async () => {
    const { url } = await start();
    const res = await postMessages(
      url,
      messagesBody([{ role: 'user', content: '[[mock:nope]]' }], { stream: false }),
    );
    expect(await res.json()).toMatchObject({ content: [{ text: 'Unknown mock scenario "nope".' }] });
  });
});

describe('mock Messages API on a unix socket', () => {
  it('serves the same routes and has no url', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mock-api-'));
    try {
      const socketPath = join(dir, 'api.sock');
      const mock = await start({ socketPath });
      expect(mock.url).toBeNull();
      expect(mock.socketPath).toBe(socketPath);
      expect((await requestOverSocket(socketPath, 'HEAD', '/')).status).toBe(200);
      const res = await requestOverSocket(
        socketPath,
        'POST',
        '/v1/messages',
        messagesBody([{ role: 'user', content: 'sock' }]),
      );
      expect(assembleContent(parseSse(res.text))).toEqual([{ type: 'text', text: 'Echo: sock' }]);
    } finally {
      await api?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
