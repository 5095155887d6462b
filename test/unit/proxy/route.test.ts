import { describe, expect, it } from 'vitest';
import { matchRoute, pathSegments } from '../../../src/proxy/route.js';
import { json, send } from './fixtures/http.js';
import { proxyStack } from './fixtures/stack.js';

/** Paths the attack run tried, and their spellings: none may reach the upstream. */
const DOT_SEGMENTS: Array<[string, string]> = [
  ['GET', '/v1/models/..'],
  ['GET', '/v1/models/.'],
  ['GET', '/v1/models/%2e%2e'],
  ['GET', '/v1/models/%2E%2E'],
  ['GET', '/v1/models/.%2e'],
  ['GET', '/v1/models/%2e.'],
  ['GET', '/v1/models/%2e'],
  ['GET', '/v1/models/%252e%252e'],
  ['GET', '/v1/models/..%2fmessages'],
  ['GET', '/v1/models/%2F'],
  ['GET', '/v1/models/a%00b'],
  ['GET', '/v1/models/a%5cb'],
  ['GET', '/v1/./models'],
  ['GET', '/v1/%2e/models'],
  ['GET', '/v1/models/../models'],
  ['POST', '/v1/messages/..'],
  ['POST', '/v1/messages/.'],
  ['POST', '/v1/messages/%2e%2e/batches'],
  ['POST', '/v1/x/../messages'],
  ['POST', '/v1/x/%2e%2e/messages'],
  ['POST', '/./v1/messages'],
  ['POST', '/v1//messages'],
  ['POST', '/v1/messages/'],
  ['POST', '/v1/messages%2f'],
  ['POST', '/v1/messages%3bx'],
  ['POST', '/v1/messages;x'],
  ['POST', '/v1\\messages'],
  ['POST', '/%76%31/messages/..'],
  ['GET', '/v1/models?after_id=%2e%2e'],
];

describe('path rules', () => {
  it('refuse a path with a . or .. segment in any spelling before any rule is looked at', () => {
    const spellings = ['.', '..', '%2e', '%2E', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '.%2E', '%2E.'];
    for (const dots of spellings) {
      for (const path of [
        `/v1/models/${dots}`,
        `/v1/${dots}/models`,
        `/${dots}/v1/messages`,
        `/v1/messages/${dots}`,
      ]) {
        expect(pathSegments(path), path).toBeNull();
      }
    }
    expect(pathSegments('/v1/models/claude-x')).toEqual(['v1', 'models', 'claude-x']);
    expect(pathSegments('/v1/models/a..b')).toEqual(['v1', 'models', 'a..b']);
  });

  it('compare decoded segments and refuse . and .. in every spelling', () => {
    for (const [method, path] of DOT_SEGMENTS)
      expect(matchRoute(method, path), `${method} ${path}`).toBeNull();
  });

  it('forward the canonical path, rebuilt from the checked segments', () => {
    expect(matchRoute('POST', '/v1/messages?beta=true')).toEqual({
      name: 'messages',
      path: '/v1/messages?beta=true',
    });
    expect(matchRoute('POST', '/%76%31/messages')?.path).toBe('/v1/messages');
    expect(matchRoute('GET', '/v1/models/claude%2Dsonnet-4-5')?.path).toBe('/v1/models/claude-sonnet-4-5');
    expect(matchRoute('GET', '/v1/models/claude-opus-4-1@2025')?.path).toBe(
      '/v1/models/claude-opus-4-1%402025',
    );
    expect(matchRoute('GET', '/v1/models/a..b')?.path).toBe('/v1/models/a..b');
    expect(matchRoute('GET', '/v1/models?limit=20&after_id=x')?.path).toBe('/v1/models?limit=20&after_id=x');
  });

  describe('through the daemon', () => {
    const stack = proxyStack({ grant: ['job-r'], resetSeen: true });

    it('answers 403 to every dot-segment spelling and sends nothing upstream', async () => {
      const { job, upstream } = stack;
      for (const [method, path] of DOT_SEGMENTS) {
        const reply = await send(job, {
          method,
          path,
          headers: { ...json, 'x-api-key': job.token },
          body: '{}',
        });
        expect(reply.status, `${method} ${path}`).toBe(403);
      }
      expect(upstream.seen.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    });

    it('sends the upstream the canonical path, never the raw one', async () => {
      const { job, upstream } = stack;
      const reply = await send(job, {
        path: '/%76%31/models/claude%2Dsonnet-4-5',
        headers: { 'x-api-key': job.token },
      });
      expect(reply.status).toBe(200);
      expect(upstream.seen.map((s) => s.url)).toEqual(['/v1/models/claude-sonnet-4-5']);
    });
  });
});
