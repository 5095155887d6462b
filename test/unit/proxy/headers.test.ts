import { describe, expect, it } from 'vitest';
import { ALLOWED_BETAS, FORWARDED_REQUEST_HEADERS, filterBetas } from '../../../src/proxy/headers.js';
import { send } from './fixtures/http.js';
import { proxyStack } from './fixtures/stack.js';

/** What Claude Code 2.1.331 sent on `POST /v1/messages?beta=true` (captured through the proxy, OAuth run). */
const CLAUDE_CODE_HEADERS: Record<string, string> = {
  accept: 'application/json',
  'content-type': 'application/json',
  'user-agent': 'claude-cli/2.1.331 (external, sdk-cli)',
  'x-claude-code-session-id': '4fe81df4-16ba-45e3-9f6c-6246810f6637',
  'x-stainless-arch': 'x64',
  'x-stainless-lang': 'js',
  'x-stainless-os': 'Linux',
  'x-stainless-package-version': '0.128.0',
  'x-stainless-retry-count': '0',
  'x-stainless-runtime': 'node',
  'x-stainless-runtime-version': 'v26.12.1',
  'x-stainless-timeout': '600',
  'anthropic-beta':
    'claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14,context-management-2025-06-27,' +
    'per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,' +
    'advanced-tool-use-2025-11-20,effort-2025-11-24,thinking-display-updates-2026-08-18,extended-cache-ttl-2025-04-11',
  'anthropic-dangerous-direct-browser-access': 'true',
  'anthropic-version': '2023-06-01',
  'x-app': 'cli',
  'accept-encoding': 'gzip, deflate, br, zstd',
};

/** Headers a container could use to steer the upstream or smuggle something through. */
const HOSTILE_HEADERS: Record<string, string> = {
  'x-http-method-override': 'DELETE',
  'x-method-override': 'DELETE',
  'x-forwarded-for': '10.0.0.1',
  'x-forwarded-host': 'evil.example',
  forwarded: 'for=10.0.0.1',
  'x-real-ip': '10.0.0.1',
  'anthropic-organization-id': 'org-other',
  'anthropic-workspace-id': 'wrk-other',
  cookie: 'session=1',
  'proxy-authorization': 'Basic eA==',
  'x-stainless-helper': 'anything',
  'x-claude-pod-anything': '1',
  'idempotency-key': 'k',
  te: 'trailers',
  expect: '',
};

describe('request headers', () => {
  const stack = proxyStack({ credential: { kind: 'oauth', value: 'oauth-real' }, grant: ['job-h'] });

  it("forwards exactly Claude Code's headers, drops every other one", async () => {
    const { expect: _empty, ...hostile } = HOSTILE_HEADERS;
    const { job, upstream } = stack;
    const reply = await send(job, {
      method: 'POST',
      path: '/v1/messages?beta=true',
      headers: {
        ...CLAUDE_CODE_HEADERS,
        ...hostile,
        'anthropic-beta': `${CLAUDE_CODE_HEADERS['anthropic-beta']},mcp-client-2025-04-04,files-api-2025-04-14`,
        authorization: `Bearer ${job.token}`,
      },
      body: '{"model":"m","messages":[]}',
    });
    expect(reply.status).toBe(200);
    const seen = upstream.seen.at(-1)?.headers ?? {};
    for (const name of Object.keys(HOSTILE_HEADERS)) expect(seen[name], name).toBeUndefined();
    for (const [name, value] of Object.entries(CLAUDE_CODE_HEADERS)) expect(seen[name], name).toBe(value);
    expect(seen.authorization).toBe('Bearer oauth-real');
    expect(Object.keys(seen).sort()).toEqual(
      [...Object.keys(CLAUDE_CODE_HEADERS), 'authorization', 'content-length', 'host', 'connection'].sort(),
    );
  });

  it('keeps the list and the beta flags to what was captured', () => {
    for (const name of Object.keys(CLAUDE_CODE_HEADERS))
      expect(FORWARDED_REQUEST_HEADERS, name).toHaveProperty(name);
    expect(Object.keys(FORWARDED_REQUEST_HEADERS).sort()).toEqual(
      [...Object.keys(CLAUDE_CODE_HEADERS), 'content-length'].sort(),
    );
    expect([...ALLOWED_BETAS].sort()).toEqual(
      (CLAUDE_CODE_HEADERS['anthropic-beta'] ?? '').split(',').sort(),
    );
    expect(filterBetas(' claude-code-20250219 , mcp-client-2025-04-04,claude-code-20250219')).toEqual({
      kept: ['claude-code-20250219'],
      dropped: ['mcp-client-2025-04-04'],
    });
  });
});
