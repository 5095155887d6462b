/**
 * The package as a user gets it: `npm pack`, `npm install -g` of the tarball into a fresh
 * prefix, then the installed `claude-pod` — not this checkout — runs --version, doctor and a
 * whole demo job. The tarball holds what the package needs and nothing else.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRuntime, skipNote } from './helpers/runtime.js';

const run = promisify(execFile);
const env = await requireRuntime();
const repo = resolve(import.meta.dirname, '../..');

describe.skipIf(!env.available)(`npm pack + npm install -g${skipNote(env)}`, () => {
  let dir: string;
  let tgz: string;
  let bin: string;
  let userEnv: NodeJS.ProcessEnv;
  const version = async () =>
    (JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-pack-'));
    // A rootful runtime's container user must reach the demo's workspace under TMPDIR.
    await chmod(dir, 0o755);
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: repo,
      maxBuffer: 1 << 24,
    });
    tgz = join(dir, packed.stdout.trim().split('\n').pop()!);
    const prefix = join(dir, 'prefix');
    await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tgz], {
      cwd: dir,
      maxBuffer: 1 << 24,
    });
    bin = join(prefix, 'bin', 'claude-pod');
    // A user with no claude-pod history and no credentials: their own HOME and TMPDIR.
    const { ANTHROPIC_API_KEY: _k, CLAUDE_POD_CACHE_DIR: _c, ...rest } = process.env;
    for (const d of ['home', 'tmp']) await mkdir(join(dir, d), { mode: 0o755 });
    userEnv = { ...rest, HOME: join(dir, 'home'), TMPDIR: join(dir, 'tmp'), NO_COLOR: '1' };
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the tarball holds dist, container, the manifest, README and CHANGELOG — no tests, maps, caches or secrets', async () => {
    const { stdout } = await run('tar', ['-tzf', tgz]);
    const files = stdout.trim().split('\n');
    for (const file of files) {
      expect(file).toMatch(
        /^package\/(dist\/.+\.(js|d\.ts)|container\/.+|openclaw\.plugin\.json|README\.md|CHANGELOG\.md|package\.json)$/,
      );
      expect(file).not.toMatch(/\.map$|\/test\/|\.test\.|\/\.cache\/|\.env$|\.npmrc$|credentials|\.tgz$/);
    }
    for (const needed of [
      'package/dist/cli/main.js',
      'package/dist/plugin/index.js',
      'package/dist/workers/job-worker.js',
      'package/dist/proxy/main.js',
      'package/container/Containerfile',
      'package/container/build/versions.json',
      'package/container/runtime/entrypoint.sh',
      'package/openclaw.plugin.json',
      'package/CHANGELOG.md',
    ]) {
      expect(files).toContain(needed);
    }
  });

  it('the installed claude-pod prints its version', async () => {
    const { stdout } = await run(bin, ['--version'], { env: userEnv });
    expect(stdout.trim()).toBe(await version());
  });

  it('doctor --json runs from the install and reports its version', async () => {
    const { stdout } = await run(bin, ['doctor', '--json'], { env: userEnv, maxBuffer: 1 << 22 });
    const report = JSON.parse(stdout) as {
      ok: boolean;
      checks: Array<{ id: string; status: string; value: string }>;
    };
    expect(report.checks[0]).toMatchObject({
      id: 'version',
      value: expect.stringMatching(new RegExp(`^${await version()} `)),
    });
    expect(report.checks.find((c) => c.id === 'image')?.status).toBe('ok');
    expect(report.checks.find((c) => c.id === 'auth')?.status).not.toBe('ok');
    expect(report.ok).toBe(true);
  });

  it('demo runs a whole job from the install, offline, and keeps its caches out of the install', async () => {
    const { stdout } = await run(bin, ['demo'], { env: userEnv, maxBuffer: 1 << 22, timeout: 240_000 });
    const lines = stdout.split('\n');
    expect(lines).toContain('→ Write hello.txt');
    expect(lines.find((l) => l.startsWith('✓ completed in'))).toMatch(/· exit 0$/);
    expect(stdout).toMatch(
      /hello\.txt contains: "Hello from Claude Code, running in a claude-pod container\.\\n"/,
    );
    await expect(stat(join(dir, 'prefix', 'lib', 'node_modules', 'claude-pod', '.cache'))).rejects.toThrow();
    await expect(stat(join(dir, 'home', '.cache', 'claude-pod'))).resolves.toBeTruthy();
  });
});
