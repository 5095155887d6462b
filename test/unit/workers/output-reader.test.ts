import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { readOutput } from '../../../src/workers/output-reader.js';

describe('readOutput arguments', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-reader-'));
    file = join(dir, 'output.jsonl');
    await writeFile(file, 'héllo\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([0, -1, 1.5, Number.NaN, '10'])('limit %j is INVALID_ARGUMENT naming the field', async (limit) => {
    await expect(readOutput(file, { limit: limit as number })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      details: { field: 'limit' },
    });
  });

  it.each([-1, 0.5])('offset %j is INVALID_ARGUMENT naming the field', async (offset) => {
    await expect(readOutput(file, { offset })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      details: { field: 'offset' },
    });
  });

  it('limit 1 returns one whole character and moves on', async () => {
    const first = await readOutput(file, { limit: 1 });
    expect(first).toMatchObject({ content: 'h', nextOffset: 1, hasMore: true });
    const second = await readOutput(file, { offset: 1, limit: 1 });
    expect(second).toMatchObject({ content: 'é', nextOffset: 3, hasMore: true });
  });

  it('offset 0 with the default limit reads everything', async () => {
    expect(await readOutput(file)).toMatchObject({ content: 'héllo\n', hasMore: false, size: 7 });
  });
});
