import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import lockfile from 'proper-lockfile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthExpiredError } from '../../../src/proxy/credential-source.js';
import { OAuthCredential } from '../../../src/proxy/oauth/oauth-credential.js';
import { resolveProxyOptions } from '../../../src/proxy/proxy-options.js';
import { AUTH_EXPIRED_MARKER } from '../../../src/shared/auth-expired.js';
import { writeClaudeCredentials } from '../../fixtures/claude-credentials.js';
import { startTokenServer } from '../../fixtures/oauth-token-server.js';

const OLD_ACCESS = 'sk-ant-oat01-old-access-token';
const OLD_REFRESH = 'sk-ant-ort01-old-refresh-token';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('OAuth refresh on the host (OAuthCredential)', () => {
  let dir: string;
  let path: string;
  let server: Awaited<ReturnType<typeof startTokenServer>>;

  const writeCreds = (expiresAt: number, mode = 0o600) =>
    writeClaudeCredentials(
      path,
      {
        accessToken: OLD_ACCESS,
        refreshToken: OLD_REFRESH,
        expiresAt,
        scopes: ['user:inference', 'user:profile'],
        subscriptionType: 'max',
        rateLimitTier: 'default_claude_max_20x',
      },
      { beside: { someoneElsesField: { keep: [1, 2, 3] } }, mode },
    );
  const make = (log = capture(), marginMs = 60_000) =>
    new OAuthCredential({
      path,
      oauth: { ...resolveProxyOptions({}).oauth, tokenUrl: server.url, refreshMarginMs: marginMs },
      logger: log.logger,
      lockRetries: 5,
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cp-oauth-'));
    path = join(dir, '.credentials.json');
    server = await startTokenServer();
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the file as is while the token is outside the margin', async () => {
    await writeCreds(Date.now() + 3_600_000);
    expect(await make().current()).toBe(OLD_ACCESS);
    expect(server.calls).toHaveLength(0);
  });

  it('refreshes once for 20 concurrent requests within the margin and rewrites the file atomically', async () => {
    await writeCreds(Date.now() + 30_000, 0o640);
    const before = await stat(path);
    const log = capture();
    const cred = make(log);
    const got = await Promise.all(Array.from({ length: 20 }, () => cred.current()));
    expect(new Set(got)).toEqual(new Set([server.issued[0]]));
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]?.body).toEqual({
      grant_type: 'refresh_token',
      refresh_token: OLD_REFRESH,
      client_id: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
      scope: 'user:inference user:profile',
    });
    const after = await stat(path);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o640);
    const data = JSON.parse(await readFile(path, 'utf8')) as Record<string, Record<string, unknown>>;
    expect(data.someoneElsesField).toEqual({ keep: [1, 2, 3] });
    expect(data.claudeAiOauth).toMatchObject({
      accessToken: server.issued[0],
      refreshToken: 'sk-ant-ort01-next-1',
      subscriptionType: 'max',
      rateLimitTier: 'default_claude_max_20x',
      scopes: ['user:inference', 'user:profile'],
    });
    expect(data.claudeAiOauth?.expiresAt).toBeGreaterThan(Date.now() + 28_000_000);
    // Later requests use the new token without another refresh.
    expect(await cred.current()).toBe(server.issued[0]);
    expect(server.calls).toHaveLength(1);
    const all = log.lines.join('');
    expect(all).toContain('oauth token refreshed');
    for (const secret of [OLD_ACCESS, OLD_REFRESH, server.issued[0] ?? 'x', 'sk-ant-ort01-next-1'])
      expect(all).not.toContain(secret);
  });

  it('renews after a 401 even when expiresAt says the token is fine', async () => {
    await writeCreds(Date.now() + 3_600_000);
    const cred = make();
    expect(await cred.current()).toBe(OLD_ACCESS);
    const [a, b] = await Promise.all([cred.renew(OLD_ACCESS), cred.renew(OLD_ACCESS)]);
    expect(a).toBe(server.issued[0]);
    expect(b).toBe(server.issued[0]);
    expect(server.calls).toHaveLength(1);
    // A second 401 for the token already replaced does not refresh again.
    expect(await cred.renew(OLD_ACCESS)).toBe(server.issued[0]);
    expect(server.calls).toHaveLength(1);
  });

  it('re-reads the file when someone else (the host Claude Code) rewrote it', async () => {
    await writeCreds(Date.now() + 3_600_000);
    const cred = make();
    expect(await cred.current()).toBe(OLD_ACCESS);
    const text = (await readFile(path, 'utf8')).replace(OLD_ACCESS, 'sk-ant-oat01-from-a-new-login');
    await writeFile(`${path}.tmp`, text);
    await import('node:fs/promises').then((fs) => fs.rename(`${path}.tmp`, path));
    // A 401 forces a look at the file: the new login is used, nothing is refreshed.
    expect(await cred.renew(OLD_ACCESS)).toBe('sk-ant-oat01-from-a-new-login');
    expect(server.calls).toHaveLength(0);
  });

  it("waits for Claude Code's lock and uses what it wrote instead of refreshing again", async () => {
    await writeCreds(Date.now() + 10_000);
    const release = await lockfile.lock(dir, {
      realpath: false,
      lockfilePath: join(dir, '.oauth_refresh.lock'),
    });
    const cred = make();
    const pending = cred.current();
    await new Promise((r) => setTimeout(r, 300));
    expect(server.calls).toHaveLength(0);
    // "Claude Code" refreshes while holding its lock, then releases it.
    const text = (await readFile(path, 'utf8'))
      .replace(OLD_ACCESS, 'sk-ant-oat01-refreshed-by-claude-code')
      .replace(/"expiresAt":\d+/, `"expiresAt":${Date.now() + 3_600_000}`);
    await writeFile(path, text);
    await release();
    expect(await pending).toBe('sk-ant-oat01-refreshed-by-claude-code');
    expect(server.calls).toHaveLength(0);
  });

  it('a refused refresh (400) fails fast with AUTH_EXPIRED and the hint, naming no token', async () => {
    server.setStatus(400);
    await writeCreds(Date.now() - 1000);
    const log = capture();
    const cred = make(log);
    const started = Date.now();
    const error = await cred.current().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthExpiredError);
    const message = (error as Error).message;
    expect(message).toContain(AUTH_EXPIRED_MARKER);
    expect(message).toContain('token endpoint answered 400');
    expect(message).toContain('/login');
    expect(Date.now() - started).toBeLessThan(5000);
    // Remembered: the next request does not hit the endpoint again while the file is unchanged.
    await expect(cred.current()).rejects.toBeInstanceOf(AuthExpiredError);
    expect(server.calls).toHaveLength(1);
    const all = log.lines.join('') + message;
    for (const secret of [OLD_ACCESS, OLD_REFRESH]) expect(all).not.toContain(secret);
    // The file is left alone.
    expect(await readFile(path, 'utf8')).toContain(OLD_ACCESS);
  });

  it('a missing credentials file is AUTH_EXPIRED, not a crash', async () => {
    await expect(make().current()).rejects.toBeInstanceOf(AuthExpiredError);
  });
});
