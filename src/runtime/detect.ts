import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { release } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_IMAGE } from '../shared/config.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { cacheDir } from '../shared/paths.js';
import { DEFAULT_ULIMITS } from './run-args.js';
import type { CgroupVersion, LimitSupport, RuntimeInfo, RuntimeKind } from './runtime-info.js';

/** The base image `claude-pod setup` imports when no registry is reachable. */
export const BASE_IMAGE = 'localhost/claude-pod-base:bookworm';

/** OCI runtimes podman may be pointed at, most preferred first after the configured default. */
const OCI_CANDIDATES = ['runc', 'crun'];

export interface DetectOptions {
  runtime: RuntimeKind;
  /** `auto` probes which OCI runtime works here (cached); any other value is passed as `--runtime`. */
  ociRuntime: string;
  /** Skip the probe cache and probe again (setup does after it created the first image). */
  reprobe?: boolean;
}

export interface DetectedRuntime extends RuntimeInfo {
  kernel: string;
  /** Whether the OCI runtime was chosen by a probe container (false: configured, or no image yet). */
  ociProbed: boolean;
  /** Things worth telling a person (a fallback taken, a client without an engine, …). */
  notes: string[];
}

interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  const r = await execa(file, args, { reject: false, stdin: 'ignore', timeout: timeoutMs });
  const failedToSpawn = r.exitCode === undefined;
  return {
    exitCode: r.exitCode ?? 127,
    stdout: String(r.stdout ?? ''),
    stderr: failedToSpawn ? String(r.shortMessage ?? r.message ?? '') : String(r.stderr ?? ''),
  };
}

/** Absolute path of an executable on PATH (plus the sbin folders root's PATH may lack), or null. */
export async function findExecutable(name: string): Promise<string | null> {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
    '/usr/bin',
  ];
  for (const dir of new Set(dirs.filter(Boolean))) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The runtime's CLI client. For docker, the client installed with the local engine wins over
 * whichever `docker` comes first on PATH (a stray static client of another version, say):
 * `/usr/sbin/dockerd` → `/usr/bin/docker`, `/usr/bin/dockerd` → `/usr/bin/docker`. With no local
 * engine (a remote DOCKER_HOST), the first one on PATH.
 */
export async function findRuntimeClient(kind: RuntimeKind): Promise<string | null> {
  if (kind === 'docker') {
    const engine = await findExecutable('dockerd');
    if (engine) {
      for (const dir of [dirname(engine), join(dirname(dirname(engine)), 'bin')]) {
        if (await isExecutable(join(dir, 'docker'))) return join(dir, 'docker');
      }
    }
  }
  return findExecutable(kind);
}

const lastLine = (text: string): string =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .slice(-1)[0]
    ?.trim() ?? '';

function cgroupFrom(value: unknown): CgroupVersion {
  const v = String(value ?? '').replace(/^v/, '');
  return v === '1' ? 'v1' : v === '2' ? 'v2' : 'unknown';
}

interface EngineFacts {
  version: string;
  rootless: boolean;
  cgroupVersion: CgroupVersion;
  logDriver: string | null;
  kernel: string;
  defaultOci: string | null;
  limits: LimitSupport;
}

async function podmanFacts(command: string, globalArgs: string[] = []): Promise<EngineFacts | string> {
  const r = await run(command, [...globalArgs, 'info', '--format', 'json']);
  if (r.exitCode !== 0) return `podman info failed: ${lastLine(r.stderr) || `exit ${r.exitCode}`}`;
  try {
    const info = JSON.parse(r.stdout) as {
      host?: {
        cgroupVersion?: string;
        logDriver?: string;
        kernel?: string;
        ociRuntime?: { name?: string };
        security?: { rootless?: boolean };
        cgroupControllers?: string[] | null;
      };
      version?: { Version?: string };
    };
    return {
      version: info.version?.Version ?? 'unknown',
      rootless: info.host?.security?.rootless ?? process.getuid?.() !== 0,
      cgroupVersion: cgroupFrom(info.host?.cgroupVersion),
      logDriver: info.host?.logDriver || null,
      kernel: info.host?.kernel || release(),
      defaultOci: info.host?.ociRuntime?.name || null,
      limits: controllerLimits(info.host?.cgroupControllers ?? []),
    };
  } catch (error) {
    return `podman info printed no JSON: ${(error as Error).message}`;
  }
}

async function dockerFacts(command: string): Promise<EngineFacts | string> {
  const r = await run(command, ['info', '--format', '{{json .}}']);
  let info: {
    ServerVersion?: string;
    CgroupVersion?: string;
    LoggingDriver?: string;
    KernelVersion?: string;
    DefaultRuntime?: string;
    SecurityOptions?: string[];
    ServerErrors?: string[];
    MemoryLimit?: boolean;
    CpuCfsQuota?: boolean;
    PidsLimit?: boolean;
  } = {};
  try {
    info = JSON.parse(lastLine(r.stdout) || '{}') as typeof info;
  } catch {
    // fall through to the error below
  }
  if (r.exitCode !== 0 || !info.ServerVersion) {
    const client = await run(command, ['version', '--format', '{{.Client.Version}}']);
    const why = info.ServerErrors?.[0] ?? lastLine(r.stderr) ?? `exit ${r.exitCode}`;
    return client.exitCode === 0 || client.stdout.trim()
      ? `docker client ${client.stdout.trim() || '(unknown version)'} is installed at ${command} but no Docker ` +
          `engine is reachable (${why})`
      : `docker info failed: ${why}`;
  }
  return {
    version: info.ServerVersion,
    rootless: (info.SecurityOptions ?? []).some((o) => o.includes('rootless')),
    cgroupVersion: cgroupFrom(info.CgroupVersion),
    logDriver: info.LoggingDriver || null,
    kernel: info.KernelVersion || release(),
    defaultOci: info.DefaultRuntime || null,
    limits: {
      memory: info.MemoryLimit === true,
      cpu: info.CpuCfsQuota === true,
      pids: info.PidsLimit === true,
    },
  };
}

/** podman's cgroup controllers (rootless on cgroups v1: none, so no limit is enforced). */
function controllerLimits(controllers: string[]): LimitSupport {
  const has = new Set(controllers);
  return { memory: has.has('memory'), cpu: has.has('cpu'), pids: has.has('pids') };
}

// ---- the OCI runtime probe and its cache ----

interface ProbeCache {
  entries: Record<string, { ociRuntime: string; probedAt: string }>;
}

export const ociCacheFile = (): string => join(cacheDir(), 'oci-runtime.json');

async function readProbeCache(): Promise<ProbeCache> {
  try {
    const parsed = JSON.parse(await readFile(ociCacheFile(), 'utf8')) as ProbeCache;
    return parsed && typeof parsed.entries === 'object' ? parsed : { entries: {} };
  } catch {
    return { entries: {} };
  }
}

async function writeProbeCache(cache: ProbeCache): Promise<void> {
  await mkdir(cacheDir(), { recursive: true });
  const tmp = `${ociCacheFile()}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cache, null, 2) + '\n');
  await rename(tmp, ociCacheFile());
}

/** A local image to run `true` in: ours first, then any present one; null when there is none. */
async function probeImage(command: string): Promise<string | null> {
  for (const image of [DEFAULT_IMAGE, BASE_IMAGE]) {
    if ((await run(command, ['image', 'exists', image])).exitCode === 0) return image;
  }
  const r = await run(command, ['images', '--format', '{{.ID}}']);
  return r.exitCode === 0 ? (r.stdout.trim().split('\n')[0]?.trim() ?? null) || null : null;
}

/** Runs a trivial locked-down container with one OCI runtime; returns null on success, else why not. */
export async function probeOciRuntime(command: string, oci: string, image: string): Promise<string | null> {
  const ulimits = DEFAULT_ULIMITS.flatMap((u) => ['--ulimit', u]);
  const r = await run(
    command,
    ['--runtime', oci, 'run', '--rm', '--network', 'none', ...ulimits, '--entrypoint', 'true', image],
    60_000,
  );
  return r.exitCode === 0 ? null : lastLine(r.stderr) || `exit ${r.exitCode}`;
}

async function chooseOciRuntime(
  command: string,
  facts: EngineFacts,
  opts: DetectOptions,
  notes: string[],
): Promise<{ ociRuntime: string | null; probed: boolean }> {
  if (opts.ociRuntime !== 'auto') {
    // podman refuses every command when the named OCI runtime is missing; say so here, clearly.
    const check = await podmanFacts(command, ['--runtime', opts.ociRuntime]);
    if (typeof check === 'string') {
      throw new ClaudePodError(
        ErrorCodes.RUNTIME_MISSING,
        `The OCI runtime "${opts.ociRuntime}" set in "ociRuntime" is not usable (${check}). ` +
          'Fix: set "ociRuntime" to "auto" (probes which one works) or install it.',
        { details: { ociRuntime: opts.ociRuntime } },
      );
    }
    return { ociRuntime: opts.ociRuntime, probed: false };
  }
  const key = `podman ${facts.version} | kernel ${facts.kernel} | ${facts.rootless ? 'rootless' : 'rootful'}`;
  const cache = await readProbeCache();
  const cached = cache.entries[key];
  if (cached && !opts.reprobe) return { ociRuntime: cached.ociRuntime, probed: true };

  const image = await probeImage(command);
  if (!image) {
    notes.push(
      'no local image to probe OCI runtimes with yet; using the runtime default (run `claude-pod setup`)',
    );
    return { ociRuntime: null, probed: false };
  }
  const candidates = [...new Set([facts.defaultOci, ...OCI_CANDIDATES].filter((c): c is string => !!c))];
  const failures: string[] = [];
  for (const oci of candidates) {
    const why = await probeOciRuntime(command, oci, image);
    if (why === null) {
      cache.entries[key] = { ociRuntime: oci, probedAt: new Date().toISOString() };
      await writeProbeCache(cache).catch(() => undefined);
      if (failures.length) notes.push(`OCI runtime ${oci} chosen; ${failures.join('; ')}`);
      return { ociRuntime: oci, probed: true };
    }
    failures.push(`${oci} failed: ${why}`);
  }
  throw new ClaudePodError(
    ErrorCodes.RUNTIME_MISSING,
    `No OCI runtime can start a container here (${failures.join('; ')}). ` +
      'Fix: install runc (`apt-get install -y runc`) or set "ociRuntime" in the config to one that works.',
    { details: { failures } },
  );
}

/**
 * Finds a usable container runtime: the CLI, its engine, version, rootless or not, cgroups version,
 * default log driver, and (podman) an OCI runtime that actually starts containers on this host.
 */
export async function detectRuntime(opts: DetectOptions): Promise<DetectedRuntime> {
  const order: RuntimeKind[] = opts.runtime === 'docker' ? ['docker', 'podman'] : ['podman', 'docker'];
  const problems: string[] = [];
  const notes: string[] = [];
  for (const kind of order) {
    const command = await findRuntimeClient(kind);
    if (!command) {
      problems.push(`${kind}: not installed`);
      continue;
    }
    const facts = kind === 'podman' ? await podmanFacts(command) : await dockerFacts(command);
    if (typeof facts === 'string') {
      problems.push(`${kind}: ${facts}`);
      continue;
    }
    if (kind !== opts.runtime)
      notes.push(`${opts.runtime} is not usable (${problems.join('; ')}); using ${kind}`);
    let ociRuntime: string | null = null;
    let ociProbed = false;
    if (kind === 'podman') {
      ({ ociRuntime, probed: ociProbed } = await chooseOciRuntime(command, facts, opts, notes));
    }
    return {
      kind,
      command,
      version: facts.version,
      ociRuntime,
      rootless: facts.rootless,
      cgroupVersion: facts.cgroupVersion,
      logDriver: facts.logDriver,
      globalArgs: kind === 'podman' && ociRuntime ? ['--runtime', ociRuntime] : [],
      kernel: facts.kernel,
      limits: facts.limits,
      ociProbed,
      notes,
    };
  }
  throw new ClaudePodError(
    ErrorCodes.RUNTIME_MISSING,
    `No usable container runtime (${problems.join('; ')}). Fix: run \`claude-pod setup\` as root on ` +
      'Debian/Ubuntu (installs podman), or `apt-get install -y podman runc uidmap` yourself.',
    { details: { problems } },
  );
}
