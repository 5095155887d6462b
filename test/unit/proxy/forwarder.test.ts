import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerDir } from '../../../src/shared/paths.js';
import { json, open, readUntil, send, streamBody, waitFor } from './fixtures/http.js';
import { proxyStack } from './fixtures/stack.js';

/**
 * container/runtime/forwarder.mjs runs on the host's Node here (it is dependency-free): loopback
 * TCP in, the proxy's unix socket out — the same path Claude Code's requests take in a container.
 */
describe('container forwarder (TCP -> unix socket)', () => {
  const stack = proxyStack({ grant: ['job-f'] });
  let forwarder: ChildProcess;
  let port: number;
  let token: string;
  let socketPath: string;

  beforeAll(async () => {
    const { stateDir, job } = stack;
    token = job.token;
    socketPath = job.socketPath;
    const readyFile = join(stateDir, 'forwarder.ready');
    forwarder = spawn(process.execPath, [join(containerDir, 'runtime', 'forwarder.mjs')], {
      env: {
        PATH: process.env.PATH,
        CLAUDE_POD_API_PORT: '0',
        CLAUDE_POD_API_SOCKET: socketPath,
        CLAUDE_POD_FORWARDER_READY: readyFile,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    let ready = '';
    await waitFor(async () => {
      ready = await readFile(readyFile, 'utf8').catch(() => '');
      return ready.endsWith('\n');
    });
    port = Number(ready.trim().split(' ')[1]);
  });
  afterAll(async () => {
    forwarder?.kill('SIGTERM');
  });

  it('carries a request and its response both ways', async () => {
    const { upstream } = stack;
    const reply = await send(
      { port },
      { method: 'POST', path: '/v1/messages', headers: { ...json, 'x-api-key': token }, body: '{"a":1}' },
    );
    expect(reply.status).toBe(200);
    expect(upstream.seen.at(-1)?.headers['x-api-key']).toBe('sk-real');
    expect(upstream.seen.at(-1)?.body).toBe('{"a":1}');
    expect(
      (await send({ port }, { method: 'POST', path: '/v1/files', headers: { 'x-api-key': token } })).status,
    ).toBe(403);
  });

  it('streams SSE events one by one and passes a disconnect on', async () => {
    const { upstream } = stack;
    const first = await open(
      { port },
      { method: 'POST', path: '/v1/messages', headers: { ...json, 'x-api-key': token }, body: streamBody },
    );
    const sofar = { data: '' };
    await readUntil(first.res, '{"n":1}', sofar);
    expect(sofar.data).not.toContain('{"n":2}');
    upstream.release();
    await readUntil(first.res, '{"n":2}', sofar);
    upstream.release();
    upstream.release();
    await readUntil(first.res, 'message_stop', sofar);
    first.res.resume();
    await finished(first.res);

    const second = await open(
      { port },
      { method: 'POST', path: '/v1/messages', headers: { ...json, 'x-api-key': token }, body: streamBody },
    );
    await readUntil(second.res, '{"n":1}');
    const closed = upstream.streamClosed();
    second.req.destroy();
    await closed;
  });

  it('is still running after SIGINT (a cancel is meant for Claude Code)', async () => {
    forwarder.kill('SIGINT');
    const reply = await send({ port }, { method: 'HEAD', path: '/' });
    expect(reply.status).toBe(200);
    expect(forwarder.exitCode).toBeNull();
  });
});
