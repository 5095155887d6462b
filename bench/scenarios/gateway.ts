/**
 * The plugin inside a real OpenClaw gateway (openclaw and Node 24 from scripts/openclaw-env.mjs;
 * `CLAUDE_POD_CACHE_DIR` points at an existing cache), loaded from this checkout's build with
 * `plugins.load.paths`. N jobs run the synthetic Claude session through the load generator, which
 * stands in for `podman` on the gateway's PATH (the plugin detects it as a rootful podman). While
 * they run, `claude_code_status` is called through `POST /tools/invoke` one call after another and
 * timed, and the gateway process's RSS is sampled: idle before, during, and after the jobs ended.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, realpath, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { proxyPaths } from '../../src/proxy/paths.js';
import { LABEL_OWNER } from '../../src/runtime/labels.js';
import { ownerIdFor } from '../../src/supervisor/owner.js';
import { isAlive, readPidFile } from '../../src/proxy/pid-file.js';
import {
  freePort,
  Gateway,
  OPENCLAW_LOCK_DIR,
  type OpenclawEnvInfo,
} from '../../test/e2e/helpers/gateway.js';
import { LIGHT_RUNTIME, SESSION_SERVER } from '../fake-stack.js';
import { percentile, round, summarize, type Summary } from '../stats.js';

export interface GatewayScenario {
  jobs: number;
  /** workerThreads for the plugin; null = the default. */
  threads: number | null;
  sessionMs: number;
  windowMs: number;
  /** How long after the last job ended the RSS is still sampled. */
  afterEndMs: number;
}

export interface GatewayResult {
  jobs: number;
  threads: number | null;
  node: string;
  gatewayRssMiB: {
    idle: number;
    windowMean: number;
    windowMax: number;
    /** Seconds after the last job ended → RSS. */
    after: Array<{ s: number; mib: number }>;
  };
  statusMs: Summary & { p95: number };
  completed: number;
  problems: string[];
}

export type GatewayOutcome =
  { available: true; runs: GatewayResult[] } | { available: false; reason: string };

const GATEWAY_TOKEN = 'bench-gateway-token-0123456789abcdef';
const repoRoot = resolve(import.meta.dirname, '../..');

export async function openclawEnv(): Promise<OpenclawEnvInfo> {
  const script = pathToFileURL(join(repoRoot, 'scripts/openclaw-env.mjs')).href;
  const { ensureOpenclawEnv } = (await import(script)) as {
    ensureOpenclawEnv: (opts?: { cacheDir?: string; log?: (m: string) => void }) => Promise<OpenclawEnvInfo>;
  };
  const cache = process.env.CLAUDE_POD_CACHE_DIR;
  return ensureOpenclawEnv({
    ...(cache ? { cacheDir: join(cache, 'openclaw-env') } : {}),
    log: () => undefined,
  });
}

export async function runGatewayScenario(oc: OpenclawEnvInfo, s: GatewayScenario): Promise<GatewayResult> {
  const root = await mkdtemp(join(tmpdir(), 'claude-pod-bench-gw-'));
  await chmod(root, 0o755);
  const stateDir = join(root, 'fake-state');
  const goFile = join(root, 'go');
  const bin = join(root, 'bin');
  await mkdir(stateDir);
  await mkdir(bin);
  // `podman` for the gateway: the load generator, with its settings baked in (a runtime client
  // gets only a minimal environment from the plugin).
  await writeFile(
    join(bin, 'podman'),
    `#!/bin/sh\nexport FAKE_STATE_DIR='${stateDir}' FAKE_SESSION_MS='${s.sessionMs}'\nexec '${LIGHT_RUNTIME}' "$@"\n`,
    { mode: 0o755 },
  );
  const server = spawn(process.execPath, [SESSION_SERVER], {
    env: {
      ...process.env,
      FAKE_STATE_DIR: stateDir,
      FAKE_GO_FILE: goFile,
      FAKE_SESSION_MS: String(s.sessionMs),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const gateway = new Gateway({
    root,
    oc,
    port: await freePort(),
    gatewayToken: GATEWAY_TOKEN,
    env: {
      ANTHROPIC_API_KEY: 'bench-key',
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      // OpenClaw otherwise puts /usr/bin first on its PATH, and the plugin would find the real podman.
      OPENCLAW_PATH_BOOTSTRAPPED: '1',
    },
  });
  const problems: string[] = [];
  try {
    await gateway.init();
    await gateway.writeConfig({
      gateway: {
        mode: 'local',
        port: gateway.opts.port,
        bind: 'loopback',
        auth: { mode: 'token', token: GATEWAY_TOKEN },
      },
      update: { checkOnStart: false },
      models: { catalogRefresh: { enabled: false } },
      logging: { file: join(gateway.logDir, 'gateway.log') },
      plugins: {
        enabled: true,
        load: { paths: [repoRoot] },
        entries: {
          'claude-code': {
            enabled: true,
            config: {
              sessionsDir: join(root, 'claude-sessions'),
              workspacesDir: join(root, 'workspaces'),
              maxConcurrentJobs: s.jobs,
              ...(s.threads === null ? {} : { workerThreads: s.threads }),
              ociRuntime: 'runc',
              maxOutputSize: 0,
              startupTimeout: 300,
              idleTimeout: 300,
            },
          },
        },
      },
    });
    await gateway.start();
    const pid = gatewayPid(root);
    // The first calls load the tool path of the gateway: idle is measured after a few.
    for (let i = 0; i < 10; i++) await gateway.invoke('claude_code_sessions', {});
    await sleep(5_000);
    const idle = rssMiB(pid);

    const jobIds: string[] = [];
    for (let i = 0; i < s.jobs; i++) {
      const res = await gateway.invoke('claude_code_start', { prompt: `bench job ${i}` });
      const id = res.result?.details.jobId;
      if (!res.ok || typeof id !== 'string')
        throw new Error(`claude_code_start failed: ${JSON.stringify(res)}`);
      jobIds.push(id);
    }
    // Every job's client is waiting on its FIFO: release them all.
    const deadline = Date.now() + 60_000;
    while (readdirSync(stateDir).filter((f) => f.endsWith('.fifo')).length < s.jobs) {
      if (Date.now() > deadline) {
        const res = await gateway.invoke('claude_code_status', { job_id: jobIds[0]! });
        throw new Error(
          `jobs did not start: ${JSON.stringify(res.result?.details)}${await gateway.tail(30)}`,
        );
      }
      await sleep(200);
    }
    await sleep(1_000);
    await writeFile(goFile, 'go\n');

    const latencies: number[] = [];
    const rss: number[] = [];
    const windowEnd = performance.now() + s.windowMs;
    const rssTimer = setInterval(() => rss.push(rssMiB(pid)), 1_000);
    while (performance.now() < windowEnd) {
      const id = jobIds[Math.floor(Math.random() * jobIds.length)]!;
      const t0 = performance.now();
      const res = await gateway.invoke('claude_code_status', { job_id: id });
      latencies.push(performance.now() - t0);
      if (!res.ok) problems.push(`status ${id}: ${JSON.stringify(res.error)}`);
      await sleep(100);
    }
    clearInterval(rssTimer);

    // Wait for the jobs' ends, then watch the RSS come down.
    let completed = 0;
    for (const id of jobIds) {
      for (;;) {
        const res = await gateway.invoke('claude_code_status', { job_id: id });
        const status = String(res.result?.details.status);
        if (status === 'completed') completed++;
        if (status !== 'pending' && status !== 'running') {
          if (status !== 'completed') problems.push(`${id}: ${status}`);
          break;
        }
        await sleep(500);
      }
    }
    const after: Array<{ s: number; mib: number }> = [];
    const ended = performance.now();
    for (let at = 0; at <= s.afterEndMs; at += 5_000) {
      await sleep(Math.max(0, ended + at - performance.now()));
      after.push({ s: at / 1000, mib: rssMiB(pid) });
    }
    return {
      jobs: s.jobs,
      threads: s.threads,
      node: oc.nodeBin.includes('node-')
        ? oc.nodeBin
            .split('/')
            .find((p) => p.startsWith('node-'))!
            .slice(5)
        : 'unknown',
      gatewayRssMiB: {
        idle: round(idle, 0),
        windowMean: round(rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length), 0),
        windowMax: round(Math.max(...rss), 0),
        after,
      },
      statusMs: {
        ...roundSummary(summarize(latencies)),
        p95: round(
          percentile(
            [...latencies].sort((a, b) => a - b),
            95,
          ),
          1,
        ),
      },
      completed,
      problems: problems.slice(0, 10),
    };
  } finally {
    await gateway.stop(30_000).catch(() => undefined);
    await removeOurLocks(root);
    server.kill();
    await reapRealContainers(join(root, 'claude-sessions'));
    // The plugin's model-API proxy daemon outlives a stopped gateway by design: stop it here.
    const proxy = await readPidFile(proxyPaths(join(root, 'claude-sessions', '.proxy')).pidFile).catch(
      () => null,
    );
    if (proxy && isAlive(proxy.pid)) process.kill(proxy.pid, 'SIGTERM');
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 500 }).catch(() => undefined);
  }
}

/**
 * The CLI leaves its locks in OPENCLAW_LOCK_DIR whatever TMPDIR says, named by a hash of the
 * state database's path. Other gateways on this machine (other test runs) may hold theirs there:
 * only this run's go, and the folder only if nothing else is left in it.
 */
async function removeOurLocks(root: string): Promise<void> {
  const database = join(root, 'state', 'state', 'openclaw.sqlite');
  const hash = createHash('sha256')
    .update(await realpath(database).catch(() => database))
    .digest('hex')
    .slice(0, 8);
  const names = await readdir(OPENCLAW_LOCK_DIR).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith(`.${hash}.lock.sqlite`)) await rm(join(OPENCLAW_LOCK_DIR, name), { force: true });
  }
  await rmdir(OPENCLAW_LOCK_DIR).catch(() => undefined);
}

/**
 * A safety net: had the plugin found the real podman (a gateway that resets PATH), its containers
 * are removed, by this run's owner label.
 */
async function reapRealContainers(sessionsDir: string): Promise<void> {
  if (!existsSync('/usr/bin/podman')) return;
  const label = `label=${LABEL_OWNER}=${ownerIdFor(sessionsDir)}`;
  const ps = await execa('/usr/bin/podman', ['ps', '-aq', '--filter', label], { reject: false });
  const ids = String(ps.stdout).split('\n').filter(Boolean);
  if (ids.length) await execa('/usr/bin/podman', ['rm', '-f', '-t', '0', ...ids], { reject: false });
}

/**
 * The gateway process: the one with the run's OpenClaw state directory in its environment and the
 * largest RSS (the plugin's model-API proxy daemon inherits the variable too, and is small).
 */
function gatewayPid(root: string): number {
  const marker = `OPENCLAW_STATE_DIR=${join(root, 'state')}\0`;
  let best: { pid: number; rss: number } | null = null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) continue;
      const rss = rssMiB(Number(entry));
      if (!best || rss > best.rss) best = { pid: Number(entry), rss };
    } catch {
      // gone, or not ours to read
    }
  }
  if (!best) throw new Error('gateway process not found');
  return best.pid;
}

function rssMiB(pid: number): number {
  if (!existsSync(`/proc/${pid}/status`)) return Number.NaN;
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

function roundSummary(s: Summary): Summary {
  return {
    count: s.count,
    p50: round(s.p50, 1),
    p99: round(s.p99, 1),
    max: round(s.max, 1),
    mean: round(s.mean, 1),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
