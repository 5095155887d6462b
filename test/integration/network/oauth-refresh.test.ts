import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../../src/mock-api/index.js';
import { proxyPaths } from '../../../src/proxy/paths.js';
import { LABEL_OWNER } from '../../../src/runtime/labels.js';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { writeClaudeCredentials } from '../../fixtures/claude-credentials.js';
import { startTokenServer } from '../../fixtures/oauth-token-server.js';
import { requireRuntime, skipNote } from '../helpers/runtime.js';
import { startStack, type Stack } from '../helpers/stack.js';

const env = await requireRuntime();

const OLD_ACCESS = 'sk-ant-oat01-integration-old-access';
const OLD_REFRESH = 'sk-ant-ort01-integration-old-refresh';

const writeCredentials = (path: string, expiresAt: number): Promise<void> =>
  writeClaudeCredentials(
    path,
    {
      accessToken: OLD_ACCESS,
      refreshToken: OLD_REFRESH,
      expiresAt,
      scopes: ['user:inference', 'user:profile'],
      subscriptionType: 'max',
    },
    { beside: { mcpOAuth: { 'some-server': { accessToken: 'not ours', expiresAt: 1 } } }, mode: 0o640 },
  );

/** Every file under `dir`, read as text (job outputs, registry, proxy log). */
async function allText(dir: string): Promise<string> {
  let out = '';
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    // Files come and go (activity files of ending jobs): whatever is still there is read.
    const size = await stat(path).then(
      (st) => st.size,
      () => null,
    );
    if (size === null || size > 20 * 1024 * 1024) continue;
    out += await readFile(path, 'utf8').catch(() => '');
  }
  return out;
}

describe.skipIf(!env.available)(
  `OAuth refresh on the host (real CLI, image, mock API)${skipNote(env)}`,
  () => {
    let tokens: Awaited<ReturnType<typeof startTokenServer>>;
    let credsDir: string;
    let credsPath: string;
    let stack: Stack;
    let expiresAt: number;

    beforeAll(async () => {
      tokens = await startTokenServer();
      credsDir = await mkdtemp(join(tmpdir(), 'cp-oauth-it-'));
      credsPath = join(credsDir, '.credentials.json');
      // Expires in 60 s (time for 8 containers to start on a busy 2-core machine); each job's tool
      // call waits until a second past it, so every job has one request before and one after.
      expiresAt = Date.now() + 60_000;
      await writeCredentials(credsPath, expiresAt);
      stack = await startStack(
        {
          maxConcurrentJobs: 8,
          credentialsPath: credsPath,
          oauthTokenUrl: tokens.url,
          oauthRefreshMarginSeconds: 0,
        },
        // The API takes the old token only until it expires, then only tokens the endpoint issued.
        {
          acceptCredential: (c) =>
            c === OLD_ACCESS ? Date.now() < expiresAt : c !== null && tokens.issued.includes(c),
        },
      );
    });
    afterAll(async () => {
      await stack?.dispose();
      await tokens?.close();
      await rm(credsDir, { recursive: true, force: true });
    });

    it('a token expiring in the middle of 8 concurrent jobs: one refresh, all complete, file rewritten, no token shown', async () => {
      const before = await stat(credsPath);
      const sup = stack.supervisor;
      const waitUntil = Math.ceil(expiresAt / 1000) + 1;
      const command = `while [ "$(date +%s)" -lt ${waitUntil} ]; do sleep 0.2; done; echo waited`;
      const started = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          sup.start({ prompt: `Job ${i}. ${formatDirective('bash', { command, text: `job ${i} done` })}` }),
        ),
      );
      // Every job's first request went out with the old token before it expired.
      const jobsSeen = () => {
        const early = stack.mock
          .messageRequests()
          .filter((r) => r.receivedAt < expiresAt)
          .map((r) => JSON.stringify(r.body));
        return Array.from({ length: 8 }, (_, i) => i).filter((i) =>
          early.some((b) => b.includes(`Job ${i}. `)),
        );
      };
      while (jobsSeen().length < 8) {
        if (Date.now() > expiresAt - 2000) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(Date.now(), 'all 8 jobs reached the API before the token expired').toBeLessThan(expiresAt);
      // The running containers carry no host credential (podman inspect: env, args, mounts, labels).
      const owner = sup.ownerId;
      const ids = (
        await execa('podman', ['ps', '-q', '--filter', `label=${LABEL_OWNER}=${owner}`])
      ).stdout.split('\n');
      expect(ids.filter(Boolean).length).toBe(8);
      const inspect = (await execa('podman', ['inspect', ...ids.filter(Boolean)])).stdout;
      for (const secret of [OLD_ACCESS, OLD_REFRESH]) expect(inspect).not.toContain(secret);
      expect(inspect).not.toContain(credsDir);

      const finals = await Promise.all(started.map((s) => stack.waitForEnd(s.jobId, undefined, 240_000)));
      for (const final of finals) expect(final.status, final.error ?? '').toBe('completed');
      for (const [i, final] of finals.entries()) expect(final.claude.result ?? '').toContain(`job ${i} done`);
      // Exactly one refresh, with Claude Code's request shape.
      expect(tokens.calls).toHaveLength(1);
      expect(tokens.calls[0]?.body).toMatchObject({
        grant_type: 'refresh_token',
        refresh_token: OLD_REFRESH,
      });
      expect(tokens.calls[0]!.receivedAt).toBeGreaterThanOrEqual(expiresAt);
      // Requests after the expiry carried the new token; none used the old one after it (margin 0:
      // at worst one was refused and retried).
      const after = stack.mock.messageRequests().filter((r) => r.receivedAt >= expiresAt);
      expect(after.length).toBeGreaterThanOrEqual(8);
      const accepted = after.filter((r) => r.headers.authorization === `Bearer ${tokens.issued[0]}`);
      expect(accepted.length).toBeGreaterThanOrEqual(8);
      // The file: a new inode (atomic rename), the mode kept, every field not ours kept.
      const now = await stat(credsPath);
      expect(now.ino).not.toBe(before.ino);
      expect(now.mode & 0o777).toBe(0o640);
      const data = JSON.parse(await readFile(credsPath, 'utf8')) as Record<string, Record<string, unknown>>;
      expect(data.mcpOAuth).toEqual({ 'some-server': { accessToken: 'not ours', expiresAt: 1 } });
      expect(data.claudeAiOauth).toMatchObject({
        accessToken: tokens.issued[0],
        refreshToken: 'sk-ant-ort01-next-1',
        subscriptionType: 'max',
        scopes: ['user:inference', 'user:profile'],
      });
      // No token in any status, error, output, registry or proxy log line.
      const shown = JSON.stringify([finals, sup.sessions()]) + (await allText(stack.dir));
      expect(await readFile(proxyPaths(join(stack.dir, 'sessions', '.proxy')).logFile, 'utf8')).toContain(
        'oauth token refreshed',
      );
      for (const secret of [OLD_ACCESS, OLD_REFRESH, tokens.issued[0]!, 'sk-ant-ort01-next-1'])
        expect(shown).not.toContain(secret);
    }, 360_000);

    it('a refresh endpoint answering 400: the job fails with AUTH_EXPIRED within seconds, with the hint', async () => {
      tokens.setStatus(400);
      // A new login that has already expired; the endpoint refuses its refresh token.
      await writeClaudeCredentials(credsPath, {
        accessToken: 'sk-ant-oat01-dead',
        refreshToken: 'sk-ant-ort01-dead',
        expiresAt: 1,
      });
      const calls = tokens.calls.length;
      const sup = stack.supervisor;
      const { jobId } = await sup.start({ prompt: 'hello' });
      const final = await stack.waitForEnd(jobId, undefined, 120_000);
      expect(final.status).toBe('failed');
      expect(final.errorCode).toBe(ErrorCodes.AUTH_EXPIRED);
      expect(final.error).toContain('/login');
      expect(final.error).toContain('400');
      expect(final.error).not.toContain('sk-ant-o');
      expect(tokens.calls.length - calls).toBeGreaterThanOrEqual(1);
      // Within seconds of its first refused API request (Claude Code does not retry it).
      const lastRefresh = tokens.calls.at(-1)!.receivedAt;
      expect(Date.parse(final.endedAt ?? '') - lastRefresh).toBeLessThan(10_000);
    }, 180_000);
  },
);
