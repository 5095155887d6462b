import { createWriteStream } from 'node:fs';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { findExecutable } from '../runtime/detect.js';
import type { RuntimeInfo } from '../runtime/runtime-info.js';
import { DEFAULT_ULIMITS } from '../runtime/run-args.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { cacheDir, containerDir } from '../shared/paths.js';
import { hostDebianMirror } from './apt-mirror.js';
import { BASE_IMAGES } from './base-image.js';
import { CONTEXT_HASH_LABEL, computeContextHash, packFileName, readImageVersions } from './context-hash.js';
import { imageContextHash, type ClientCommand } from './image-label.js';
import { execChecked, tail } from './exec-checked.js';
import type { Progress } from './progress.js';

export interface AgentImageOptions {
  image: string;
  /** The base to build on, made ready only when a build is needed. */
  base: () => Promise<string>;
  /** Build even when the hash label matches. */
  force?: boolean;
}

/** The client of a detected runtime, as the image helpers take it. */
export const clientOf = (info: RuntimeInfo): ClientCommand => ({
  command: info.command,
  args: [...info.globalArgs],
});

/**
 * The context hashes this checkout would build, one per base image it may build on (pulled
 * debian:bookworm-slim or our debootstrapped base): an image labelled with any of them is current.
 */
export async function currentContextHashes(): Promise<Map<string, string>> {
  const versions = await readImageVersions(containerDir);
  const hashes = new Map<string, string>();
  for (const base of BASE_IMAGES) hashes.set(await computeContextHash(containerDir, versions, base), base);
  return hashes;
}

/** Packs the pinned npm tarballs into the build context (reusing ones already there). */
async function packTarballs(pkgsDir: string, specs: string[]): Promise<string> {
  await mkdir(pkgsDir, { recursive: true });
  const wanted = new Map(specs.map((s) => [packFileName(s), s]));
  const present = new Set((await readdir(pkgsDir)).filter((f) => f.endsWith('.tgz')));
  for (const file of present) if (!wanted.has(file)) await rm(join(pkgsDir, file), { force: true });
  const missing = [...wanted].filter(([file]) => !present.has(file)).map(([, spec]) => spec);
  if (missing.length === 0) return 'npm tarballs cached';
  const npm = await findExecutable('npm');
  if (!npm) {
    throw new ClaudePodError(
      ErrorCodes.SETUP_FAILED,
      'npm is not on PATH. Fix: install Node.js with npm, then rerun `claude-pod setup`.',
    );
  }
  await execChecked(
    npm,
    ['pack', '--silent', ...missing],
    'check that the npm registry is reachable (npm config get registry)',
    {
      cwd: pkgsDir,
      timeout: 15 * 60_000,
    },
  );
  return `packed ${missing.join(' ')}`;
}

/**
 * Builds the agent image when it is missing or its context-hash label differs from what this
 * checkout would build. Returns a one-line description of what happened.
 */
export async function ensureAgentImage(
  info: RuntimeInfo,
  progress: Progress,
  opts: AgentImageOptions,
): Promise<void> {
  const existing = await imageContextHash(clientOf(info), opts.image);
  if (existing && !opts.force) {
    const builtOn = (await currentContextHashes()).get(existing.hash);
    if (builtOn) {
      progress.line(
        `agent image: ${opts.image} is current (${CONTEXT_HASH_LABEL}=${existing.hash.slice(0, 12)}, base ${builtOn})`,
      );
      return;
    }
  }
  // Only a build needs the base image (a rootless user may have the agent image but no base).
  const base = await opts.base();
  const versions = await readImageVersions(containerDir);
  const hash = await computeContextHash(containerDir, versions, base);
  const context = join(cacheDir(), 'image-context');
  await progress.step('npm tarballs', async () => ({
    detail: await packTarballs(join(context, 'pkgs'), [
      versions.node,
      versions.npm,
      versions.claudeCode,
      versions.claudeCodeNative,
    ]),
  }));
  await rm(join(context, 'build'), { recursive: true, force: true });
  await cp(join(containerDir, 'build'), join(context, 'build'), { recursive: true });

  const logDir = join(cacheDir(), 'logs');
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, 'image-build.log');
  const why = existing ? 'context changed' : 'missing';
  progress.line(`agent image: building ${opts.image} (${why}; a few minutes cold; log: ${logPath})`);
  await progress.step('agent image', async () => {
    const args = [
      ...info.globalArgs,
      'build',
      '--network=host',
      ...DEFAULT_ULIMITS.flatMap((u) => ['--ulimit', u]),
      ...(info.kind === 'podman' && info.ociRuntime ? ['--runtime', info.ociRuntime] : []),
      '--file',
      join(containerDir, 'Containerfile'),
      '--build-arg',
      `BASE=${base}`,
      '--build-arg',
      `CONTEXT_HASH=${hash}`,
      '--build-arg',
      `DEBIAN_MIRROR=${await hostDebianMirror()}`,
      '--build-arg',
      `GO_PACKAGE=${versions.go}`,
      '--build-arg',
      `TINYGO_VERSION=${versions.tinygo}`,
      '--tag',
      opts.image,
      context,
    ];
    const log = createWriteStream(logPath);
    const child = execa(info.command, args, {
      reject: false,
      stdin: 'ignore',
      all: true,
      timeout: 30 * 60_000,
    });
    child.all?.pipe(log);
    const r = await child;
    await new Promise((resolve) => log.end(resolve));
    if (r.exitCode !== 0) {
      throw new ClaudePodError(
        ErrorCodes.SETUP_FAILED,
        `Building ${opts.image} failed (exit ${r.exitCode ?? 'none'}):\n${tail(String(r.all ?? ''), 20)}\n` +
          `Fix: see ${logPath}; a network error means the Debian mirror or npm registry was unreachable — rerun \`claude-pod setup\`.`,
        { details: { logPath } },
      );
    }
    // The image this build replaced is now untagged; drop it (it fails harmlessly while in use).
    if (existing?.id) {
      await execa(info.command, [...info.globalArgs, 'rmi', existing.id], { reject: false, stdin: 'ignore' });
    }
    return { detail: `built ${opts.image} (${CONTEXT_HASH_LABEL}=${hash.slice(0, 12)})` };
  });
}
