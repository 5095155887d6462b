import { stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { openStream, readUntil, send } from './fixtures/http.js';
import { proxyStack } from './fixtures/stack.js';

const mtimeOf = async (file: string): Promise<number> => (await stat(file)).mtimeMs;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A reply that streams for minutes while Claude Code prints nothing must still count as the job's
 * activity: the daemon moves the job's activity file's mtime while bytes flow — about once a
 * second, no more — and leaves other jobs' files alone.
 */
describe('activity file', () => {
  const stack = proxyStack();

  it('moves forward about once a second while a long reply streams, and only for that job', async () => {
    const { proxy, upstream } = stack;
    const job = await proxy.grant('job-long');
    const quiet = await proxy.grant('job-quiet');
    const quietMtime = await mtimeOf(quiet.activityFile);
    const { res, sofar } = await openStream(job, job.token);
    const started = Date.now();
    await sleep(100); // the touch for the request's start has landed
    const mtimes = new Set<number>([await mtimeOf(job.activityFile)]);
    // A reply of ~3.6 s: the upstream sends its next event at each release, every 1.2 s here.
    for (let released = 0; released < 3;) {
      await sleep(40);
      if (Date.now() >= started + 1200 * (released + 1)) {
        upstream.release();
        released += 1;
      }
      mtimes.add(await mtimeOf(job.activityFile));
    }
    await readUntil(res, 'message_stop', sofar);
    res.resume();
    await finished(res);
    await sleep(100);
    mtimes.add(await mtimeOf(job.activityFile));
    // Bytes flowed at about 0, 1.2, 2.4 and 3.6 s: each moved the mtime, never twice within a second.
    const sorted = [...mtimes].sort((x, y) => x - y);
    expect(sorted.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < sorted.length; i += 1) {
      expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(900);
    }
    expect(sorted.at(-1)).toBeGreaterThanOrEqual(started + 3000);
    expect(await mtimeOf(quiet.activityFile)).toBe(quietMtime);
  });

  it('does not move for refused requests', async () => {
    const job = await stack.proxy.grant('job-refused');
    const before = await mtimeOf(job.activityFile);
    await sleep(1100);
    for (const path of ['/v1/files', '/v1/models/..']) {
      await send(job, { method: 'POST', path, headers: { 'x-api-key': job.token }, body: '{}' });
    }
    await send(job, { method: 'POST', path: '/v1/messages', headers: { 'x-api-key': 'cpod_x' }, body: '{}' });
    await sleep(200);
    expect(await mtimeOf(job.activityFile)).toBe(before);
  });
});
