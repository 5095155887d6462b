import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { execa } from 'execa';
import { FAKE_RUNTIME, fakeStack } from './fake-runtime-stack.js';

const TOTAL = 50 * 1024 * 1024;

/** Heap in use after a full collection (gc exposed for this process only, through v8 flags). */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('large output through the worker (fake runtime)', () => {
  let stack: Awaited<ReturnType<typeof fakeStack>>;
  beforeEach(async () => {
    vi.stubEnv('FAKE_RUNTIME_STATE', join('/tmp', `fake-rt-${process.pid}-${Date.now()}`));
    vi.stubEnv('FAKE_STREAM', resolve('test/fixtures/streams/tool-use.jsonl'));
    vi.stubEnv('FAKE_TOTAL_BYTES', String(TOTAL));
    stack = await fakeStack({ maxOutputSize: 0 });
  });
  afterEach(async () => {
    await stack.dispose();
  });

  it('pages 50 MB back byte-identical through output(), with a flat main-thread heap', async () => {
    const heapBefore = liveHeap();
    let heapPeak = heapBefore;
    const { jobId } = await stack.sup.start({ prompt: 'large output' });
    stack.sup.on('job:progress', () => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    });
    const final = await stack.waitForEnd(jobId);
    expect(final.status, final.error ?? '').toBe('completed');
    // While 50 MB streamed through the worker, the main thread held none of it.
    expect(heapPeak - heapBefore).toBeLessThan(20 * 1024 * 1024);
    expect(liveHeap() - heapBefore).toBeLessThan(5 * 1024 * 1024);
    expect(final.outputSize).toBeGreaterThanOrEqual(TOTAL);

    // The reference: the same fake container run directly, its stdout hashed.
    const reference = execa(FAKE_RUNTIME, ['run', '--name', `reference-${jobId}`, 'image', 'claude'], {
      buffer: false,
      encoding: 'buffer',
    });
    const refHash = createHash('sha256');
    reference.stdout!.on('data', (chunk: Buffer) => refHash.update(chunk));
    await reference;
    const expected = refHash.digest('hex');

    const hash = createHash('sha256');
    let offset = 0;
    let pages = 0;
    for (;;) {
      const page = await stack.sup.output(jobId, { offset, limit: 1024 * 1024 });
      hash.update(Buffer.from(page.content, 'utf8'));
      pages++;
      if (!page.hasMore) break;
      expect(page.nextOffset).toBeGreaterThan(offset);
      offset = page.nextOffset;
    }
    expect(pages).toBeGreaterThanOrEqual(50);
    expect(hash.digest('hex')).toBe(expected);
    const onDisk = await readFile(stack.sup.paths.outputFile(final.sessionId, jobId));
    expect(onDisk.length).toBe(final.outputSize);
  });
});
