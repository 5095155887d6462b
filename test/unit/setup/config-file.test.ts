import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCliConfig } from '../../../src/setup/config-file.js';
import { ErrorCodes } from '../../../src/shared/errors.js';

async function file(content: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'cfg-')), 'config.json');
  await writeFile(path, content);
  return path;
}

describe('loadCliConfig', () => {
  it('gives the defaults without a file', async () => {
    expect((await loadCliConfig(undefined)).runtime).toBe('podman');
  });

  it('reads a plain plugin config', async () => {
    expect((await loadCliConfig(await file('{"memory":"1g"}'))).memory).toBe('1g');
  });

  it('reads the plugin entry of a whole openclaw.json', async () => {
    const path = await file(
      JSON.stringify({ plugins: { entries: { 'claude-code': { config: { pidsLimit: 64 } } } } }),
    );
    expect((await loadCliConfig(path)).pidsLimit).toBe(64);
  });

  it('rejects unreadable JSON and unknown keys with INVALID_CONFIG', async () => {
    await expect(loadCliConfig(await file('{nope'))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
    });
    await expect(loadCliConfig(await file('{"memroy":"1g"}'))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
    });
    await expect(loadCliConfig('/nonexistent/config.json')).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
    });
  });
});
