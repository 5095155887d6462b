/**
 * The agent image is built natively, so setup must pack the Node and Claude Code native
 * packages of the host's architecture. arm64 cannot be built on this x64 machine, so the choice
 * is tested here: the TypeScript side (what is packed and hashed) and the install script's own
 * mapping (what is unpacked in the build), which must agree.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packFileName, readImageVersions } from '../../../src/setup/context-hash.js';
import { imagePlatform, resolvePlatform } from '../../../src/setup/image-platform.js';

const containerDir = resolve(import.meta.dirname, '../../../container');

describe('image platform', () => {
  it('is linux-x64 or linux-arm64 from Node’s platform and arch', () => {
    expect(imagePlatform('linux', 'x64')).toBe('linux-x64');
    expect(imagePlatform('linux', 'arm64')).toBe('linux-arm64');
    for (const [platform, arch] of [
      ['linux', 'ia32'],
      ['linux', 'arm'],
      ['darwin', 'arm64'],
      ['win32', 'x64'],
    ] as const) {
      expect(() => imagePlatform(platform, arch)).toThrow(
        expect.objectContaining({
          code: 'SETUP_FAILED',
          message: expect.stringContaining(`${platform}-${arch}`),
        }),
      );
    }
  });

  it.each(['linux-x64', 'linux-arm64'] as const)(
    '%s: setup packs that platform’s Node and Claude Code',
    async (p) => {
      const versions = await readImageVersions(containerDir, p);
      expect(versions.node).toMatch(new RegExp(`^node-${p}@22\\.`));
      expect(versions.claudeCodeNative).toMatch(new RegExp(`^@anthropic-ai/claude-code-${p}@`));
      expect(versions.claudeCode).not.toContain('{platform}');
      // The tarball names the install script looks for: "node-$PLATFORM-", "anthropic-ai-claude-code-$PLATFORM-".
      expect(packFileName(versions.node)).toMatch(new RegExp(`^node-${p}-\\d`));
      expect(packFileName(versions.claudeCodeNative)).toMatch(
        new RegExp(`^anthropic-ai-claude-code-${p}-\\d`),
      );
    },
  );

  it('leaves specs without a placeholder alone', () => {
    expect(resolvePlatform({ a: 'x@1', b: 'y-{platform}@2' }, 'linux-arm64')).toEqual({
      a: 'x@1',
      b: 'y-linux-arm64@2',
    });
  });

  it.each([
    ['x86_64', 'linux-x64'],
    ['aarch64', 'linux-arm64'],
    ['arm64', 'linux-arm64'],
  ])('the install script maps `uname -m` = %s to %s, as setup does', async (machine, platform) => {
    const script = await readFile(join(containerDir, 'build', 'install-npm-packages.sh'), 'utf8');
    const block = /^case "\$\(uname -m\)" in[\s\S]*?^esac$/m.exec(script)?.[0];
    expect(block).toBeDefined();
    const { stdout } = await promisify(execFile)('sh', [
      '-c',
      `uname() { echo ${machine}; }\n${block}\necho "$PLATFORM"`,
    ]);
    expect(stdout.trim()).toBe(platform);
  });

  it('the install script refuses other architectures', async () => {
    const script = await readFile(join(containerDir, 'build', 'install-npm-packages.sh'), 'utf8');
    const block = /^case "\$\(uname -m\)" in[\s\S]*?^esac$/m.exec(script)?.[0];
    const run = promisify(execFile)('sh', ['-c', `uname() { echo riscv64; }\n${block}\necho "$PLATFORM"`]);
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/unsupported architecture riscv64/),
    });
  });
});
