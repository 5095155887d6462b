import { readFile, stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { proxyPaths } from '../../../src/proxy/paths.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureApiProxy, type ApiProxyHandle, type JobGrant } from '../../../src/proxy/client.js';
import { startUpstream } from './fixtures/upstream.js';
import { json, open, proxyScratch, readUntil, send, streamBody } from './fixtures/http.js';
import { proxyStack, type Upstream } from './fixtures/stack.js';

const REAL_KEY = 'sk-ant-real-secret-key';

describe('api proxy (api-key credential)', () => {
  let upstream: Upstream;
  let proxy: ApiProxyHandle;
  let job: JobGrant;
  let token: string;
  let stateDir: string;

  const stack = proxyStack({
    credential: { kind: 'api-key', value: REAL_KEY },
    grant: ['job-1'],
    resetSeen: true,
  });
  beforeAll(() => {
    ({ upstream, proxy, job, stateDir } = stack);
    token = job.token;
  });

  it("puts the job's socket in a short directory of its own", () => {
    expect(Buffer.byteLength(job.socketPath)).toBeLessThanOrEqual(107);
    expect(job.socketPath).toBe(`${job.socketDir}/api.sock`);
    expect(job.socketDir.startsWith(`${proxy.paths.socketRoot}/`)).toBe(true);
    expect(proxy.credentialKind).toBe('api-key');
    expect(token).toMatch(/^cpod_[A-Za-z0-9_-]{43}$/);
  });

  it('answers HEAD / and GET / itself, without a token', async () => {
    expect((await send(job, { method: 'HEAD', path: '/' })).status).toBe(200);
    expect((await send(job, { method: 'GET', path: '/' })).status).toBe(200);
    expect(upstream.seen).toHaveLength(0);
  });

  it('swaps the capability (x-api-key) for the real key', async () => {
    const reply = await send(job, {
      method: 'POST',
      path: '/v1/messages?beta=true',
      headers: { ...json, 'x-api-key': token, 'anthropic-version': '2023-06-01' },
      body: '{"model":"m","messages":[]}',
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ ok: true, path: '/v1/messages?beta=true' });
    const [seen] = upstream.seen;
    expect(seen?.headers['x-api-key']).toBe(REAL_KEY);
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen?.headers.host).toBe(new URL(upstream.url).host);
    expect(seen?.body).toBe('{"model":"m","messages":[]}');
    expect(JSON.stringify(seen)).not.toContain(token);
  });

  it('accepts the capability as Authorization: Bearer too', async () => {
    const reply = await send(job, {
      method: 'POST',
      path: '/v1/messages/count_tokens',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: '{}',
    });
    expect(reply.status).toBe(200);
    expect(upstream.seen[0]?.headers['x-api-key']).toBe(REAL_KEY);
    expect(upstream.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('forwards GET /v1/models and /v1/models/<id>', async () => {
    for (const path of ['/v1/models', '/v1/models/claude-sonnet-4-5']) {
      expect((await send(job, { path, headers: { 'x-api-key': token } })).status).toBe(200);
    }
    expect(upstream.seen.map((s) => s.url)).toEqual(['/v1/models', '/v1/models/claude-sonnet-4-5']);
  });

  it('refuses a missing, unknown or revoked token with an Anthropic-shaped 401', async () => {
    const otherJob = await proxy.grant('job-2');
    const other = otherJob.token;
    const post = (headers: Record<string, string>, target: JobGrant = job) =>
      send(target, { method: 'POST', path: '/v1/messages', headers: { ...json, ...headers }, body: '{}' });

    expect((await post({ 'x-api-key': other }, otherJob)).status).toBe(200);
    await proxy.revoke('job-2');
    expect(await proxy.isGranted('job-2')).toBe(false);
    const attempts: Array<Record<string, string>> = [
      {},
      { 'x-api-key': 'cpod_unknown' },
      { 'x-api-key': other },
      { authorization: REAL_KEY },
    ];
    for (const headers of attempts) {
      const reply = await post(headers);
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.body)).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error' },
      });
    }
    expect(upstream.seen).toHaveLength(1);
    // Another job's revocation leaves this one alone.
    expect((await post({ 'x-api-key': token })).status).toBe(200);
  });

  it('refuses everything but the model API with 403, even with a valid token', async () => {
    const cases: Array<[string, string]> = [
      ['POST', '/v1/messages/batches'],
      ['GET', '/v1/messages'],
      ['POST', '/v1/files'],
      ['POST', '/v1/messages/../../admin'],
      ['POST', '/v1/messages%2f..%2fadmin'],
      ['POST', '//v1/messages'],
      ['GET', '/v1/models/../organizations'],
      ['POST', '/v1/messages?x=<script>'],
      ['GET', '/api/oauth/profile'],
      ['DELETE', '/v1/models'],
    ];
    for (const [method, path] of cases) {
      const reply = await send(job, { method, path, headers: { ...json, 'x-api-key': token }, body: '{}' });
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(JSON.parse(reply.body)).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it('pipes SSE through as it is produced', async () => {
    const { res } = await open(job, {
      method: 'POST',
      path: '/v1/messages',
      headers: { ...json, 'x-api-key': token },
      body: streamBody,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const sofar = { data: '' };
    // The upstream holds event 2 back until we release it: each event must arrive on its own.
    await readUntil(res, '{"n":1}', sofar);
    expect(sofar.data).not.toContain('{"n":2}');
    upstream.release();
    await readUntil(res, '{"n":2}', sofar);
    expect(sofar.data).not.toContain('{"n":3}');
    upstream.release();
    upstream.release();
    await readUntil(res, 'message_stop', sofar);
    res.resume();
    await finished(res);
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const { res, req } = await open(job, {
      method: 'POST',
      path: '/v1/messages',
      headers: { ...json, 'x-api-key': token },
      body: streamBody,
    });
    await readUntil(res, '{"n":1}');
    const closed = upstream.streamClosed();
    req.destroy();
    await closed; // the upstream saw its response closed without ever releasing event 2
    expect(upstream.seen).toHaveLength(1);
  });
  it('keeps the secret and the tokens out of its argv, log and files', async () => {
    const cmdline = await readFile(`/proc/${proxy.pid}/cmdline`, 'utf8');
    expect(cmdline).toMatch(/proxy[/]main\.(ts|js)/);
    expect(cmdline).not.toContain(REAL_KEY);
    const paths = proxyPaths(stateDir);
    for (const file of [paths.logFile, paths.pidFile, paths.tokensFile]) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.toContain(REAL_KEY);
      expect(text, file).not.toContain(token);
      expect((await stat(file)).mode & 0o777, file).toBe(0o600);
    }
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
  });
});

describe('api proxy (oauth credential)', () => {
  const scratch = proxyScratch();
  afterAll(() => scratch.cleanup());

  it('injects the OAuth access token as Bearer and drops x-api-key', async () => {
    const upstream = await startUpstream();
    try {
      const proxy = scratch.track(
        await ensureApiProxy({
          stateDir: await scratch.stateDir(),
          upstream: upstream.url,
          credential: { kind: 'oauth', value: 'oauth-access-token' },
        }),
      );
      expect(proxy.credentialKind).toBe('oauth');
      const job = await proxy.grant('job-o');
      const token = job.token;
      const reply = await send(job, {
        method: 'POST',
        path: '/v1/messages',
        headers: { ...json, authorization: `Bearer ${token}`, 'anthropic-beta': 'oauth-2025-04-20' },
        body: '{}',
      });
      expect(reply.status).toBe(200);
      expect(upstream.seen[0]?.headers.authorization).toBe('Bearer oauth-access-token');
      expect(upstream.seen[0]?.headers['x-api-key']).toBeUndefined();
      expect(upstream.seen[0]?.headers['anthropic-beta']).toBe('oauth-2025-04-20');
    } finally {
      await upstream.close();
    }
  });

  it('answers 502 in the API error shape when the upstream is unreachable', async () => {
    const upstream = await startUpstream();
    await upstream.close(); // nothing listens on that port any more
    const proxy = scratch.track(
      await ensureApiProxy({
        stateDir: await scratch.stateDir(),
        upstream: upstream.url,
        credential: { kind: 'api-key', value: REAL_KEY },
      }),
    );
    const job = await proxy.grant('job-x');
    const reply = await send(job, {
      method: 'POST',
      path: '/v1/messages',
      headers: { 'x-api-key': job.token },
      body: '{}',
    });
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(reply.body).not.toContain(REAL_KEY);
  });
});
