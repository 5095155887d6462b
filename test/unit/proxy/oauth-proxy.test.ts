import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockApi, type MockApi } from '../../../src/mock-api/index.js';
import { ensureApiProxy, type ApiProxyHandle } from '../../../src/proxy/client.js';
import { AUTH_EXPIRED_MARKER } from '../../../src/shared/auth-expired.js';
import { writeClaudeCredentials } from '../../fixtures/claude-credentials.js';
import { startTokenServer } from '../../fixtures/oauth-token-server.js';
import { json, proxyScratch, send } from './fixtures/http.js';

const OLD_ACCESS = 'sk-ant-oat01-old-access-token';
const BODY = JSON.stringify({
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'hello' }],
});

/**
 * The daemon with a credentials file (`oauth-file`): a 401 from upstream renews the login once
 * and retries the request, unseen by the client; a refresh the endpoint refuses is a quick 401
 * carrying AUTH_EXPIRED and the hint.
 */
describe('api proxy with an OAuth credentials file', () => {
  const scratch = proxyScratch();
  let tokens: Awaited<ReturnType<typeof startTokenServer>>;
  let mock: MockApi;
  let proxy: ApiProxyHandle;
  let credsPath: string;
  let stateDir: string;

  beforeAll(async () => {
    tokens = await startTokenServer();
    // The API accepts only tokens the endpoint issued: the file's token is already revoked.
    mock = await createMockApi({ acceptCredential: (c) => c !== null && tokens.issued.includes(c) });
    stateDir = await scratch.stateDir();
    credsPath = join(stateDir, 'credentials.json');
    await writeClaudeCredentials(credsPath, {
      accessToken: OLD_ACCESS,
      refreshToken: 'rt-1',
      expiresAt: Date.now() + 3_600_000,
    });
    proxy = scratch.track(
      await ensureApiProxy({
        stateDir,
        upstream: mock.url ?? '',
        credential: { kind: 'oauth-file', value: credsPath },
        proxyOptions: { oauth: { tokenUrl: tokens.url } },
      }),
    );
  });
  afterAll(async () => {
    await scratch.cleanup();
    await mock.close();
    await tokens.close();
  });

  it('retries a request refused with 401 once, with the refreshed token', async () => {
    expect(proxy.credentialKind).toBe('oauth');
    const job = await proxy.grant('job-oauth');
    const reply = await send(job, {
      method: 'POST',
      path: '/v1/messages',
      headers: { ...json, authorization: `Bearer ${job.token}`, 'anthropic-version': '2023-06-01' },
      body: BODY,
    });
    expect(reply.status).toBe(200);
    expect(mock.rejectedCredentials).toBe(1);
    expect(tokens.calls).toHaveLength(1);
    const seen = mock.messageRequests();
    expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${tokens.issued[0]}`);
    expect(JSON.stringify(seen.at(-1)?.body)).toBe(BODY);
    expect(await readFile(credsPath, 'utf8')).toContain(tokens.issued[0]);
    const log = await readFile(proxy.paths.logFile, 'utf8');
    expect(log).toContain('renewing, one retry');
    for (const secret of [OLD_ACCESS, 'rt-1', tokens.issued[0] ?? 'x', job.token])
      expect(log).not.toContain(secret);
  });

  it('answers AUTH_EXPIRED with the hint, at once, when the refresh is refused; other jobs go on', async () => {
    tokens.setStatus(400);
    // The login expired and cannot be refreshed.
    await writeClaudeCredentials(credsPath, {
      accessToken: 'sk-ant-oat01-dead',
      refreshToken: 'rt-dead',
      expiresAt: Date.now() - 1,
    });
    await new Promise((r) => setTimeout(r, 1100)); // the daemon looks at the file at most once a second
    const job = await proxy.grant('job-expired');
    const started = Date.now();
    const reply = await send(job, {
      method: 'POST',
      path: '/v1/messages',
      headers: { ...json, authorization: `Bearer ${job.token}` },
      body: BODY,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(reply.status).toBe(401);
    expect(reply.headers['x-should-retry']).toBe('false');
    const error = (JSON.parse(reply.body) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('authentication_error');
    expect(error.message).toContain(AUTH_EXPIRED_MARKER);
    expect(error.message).toContain('/login');
    expect(error.message).not.toContain('rt-dead');
    expect(error.message).not.toContain('sk-ant-oat01-dead');
    // The daemon still serves: GET / on another job's socket, health on the control socket.
    const other = await proxy.grant('job-other');
    expect((await send(other, { method: 'GET', path: '/' })).status).toBe(200);
    expect((await proxy.health())?.serving).toBe(true);
  });
});

describe('refuseServerTools', () => {
  const scratch = proxyScratch();
  let mock: MockApi;
  let proxy: ApiProxyHandle;

  beforeAll(async () => {
    mock = await createMockApi();
    proxy = scratch.track(
      await ensureApiProxy({
        stateDir: await scratch.stateDir(),
        upstream: mock.url ?? '',
        credential: { kind: 'api-key', value: 'sk-real' },
        proxyOptions: { refuseServerTools: true },
      }),
    );
  });
  afterAll(async () => {
    await scratch.cleanup();
    await mock.close();
  });

  it('refuses a request enabling web search or an MCP server, lets client tools through', async () => {
    const job = await proxy.grant('job-tools');
    const post = (body: object) =>
      send(job, {
        method: 'POST',
        path: '/v1/messages',
        headers: { ...json, 'x-api-key': job.token },
        body: JSON.stringify({
          model: 'm',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'x' }],
          ...body,
        }),
      });
    const web = await post({ tools: [{ type: 'web_search_20250305', name: 'web_search' }] });
    expect(web.status).toBe(403);
    expect(web.body).toContain('refuseServerTools');
    expect(web.body).toContain('web_search_20250305');
    const mcp = await post({ mcp_servers: [{ type: 'url', url: 'https://example.invalid', name: 'x' }] });
    expect(mcp.status).toBe(403);
    expect(mcp.body).toContain('mcp_servers');
    const client = await post({ tools: [{ name: 'Bash', input_schema: { type: 'object' } }] });
    expect(client.status).toBe(200);
    expect(mock.messageRequests()).toHaveLength(1);
  });
});
