import { afterAll, describe, expect, it } from 'vitest';
import { ensureApiProxy } from '../../../src/proxy/client.js';
import { connectionBudget, readFdLimit } from '../../../src/proxy/fd-limit.js';
import { startUpstream } from './fixtures/upstream.js';
import { json, proxyScratch, send } from './fixtures/http.js';
import { startProxyFromChild } from './fixtures/starter.js';

describe('the daemon open-file limit', () => {
  const scratch = proxyScratch();
  afterAll(() => scratch.cleanup());

  it('is the hard limit, whatever soft limit its starter had (node raises it at startup)', async () => {
    const hard = readFdLimit()?.hard ?? 0;
    expect(hard).toBeGreaterThan(256);
    const upstream = await startUpstream();
    const stateDir = await scratch.stateDir();
    const started = await startProxyFromChild({
      stateDir,
      upstream: upstream.url,
      apiKey: 'sk-fd',
      fdLimit: 256,
      softOnly: true,
    });
    try {
      const handle = scratch.track(
        await ensureApiProxy({
          stateDir,
          upstream: upstream.url,
          credential: { kind: 'api-key', value: 'sk-fd' },
        }),
      );
      expect(handle.pid).toBe(started.pid);
      expect(readFdLimit(started.pid)).toEqual({ soft: hard, hard });
      const health = await handle.health();
      expect(health?.fdLimit).toBe(hard);
      expect(health?.connectionBudget).toBe(connectionBudget({ soft: hard, hard }, 1));
      const reply = await send(started, {
        method: 'POST',
        path: '/v1/messages',
        headers: { ...json, 'x-api-key': started.token },
        body: '{}',
      });
      expect(reply.status).toBe(200);
    } finally {
      started.child.kill('SIGKILL');
      await upstream.close();
    }
  });

  it('sizes the connection budget from it: two descriptors per connection, some kept in reserve', () => {
    expect(connectionBudget({ soft: 1024, hard: 1024 })).toBe(448);
    expect(connectionBudget({ soft: 20000, hard: 20000 }, 10)).toBe(9931);
    expect(connectionBudget({ soft: 100, hard: 100 })).toBe(32);
    expect(connectionBudget(null)).toBe(448);
  });
});
