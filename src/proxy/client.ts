/**
 * The supervisor's side of the API proxy. `ensureApiProxy` finds the proxy daemon of a state
 * directory through its pid file and socket, reuses it when it runs with the same upstream and
 * credential (compared by fingerprint, a hash), and otherwise (re)starts it detached, so it
 * outlives this process. Tokens are granted by writing their hashes to the tokens file, which the
 * daemon re-reads; nothing else passes between the two.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { prepareProxyDir, prepareSocketDir, proxyPaths, type ProxyPaths } from './paths.js';
import { isAlive, readPidFile, type ProxyPidFile } from './pid-file.js';
import { probeProxy } from './probe.js';
import {
  configFingerprint,
  ENV,
  EXIT_PEER_RUNNING,
  READY_FD_ENV,
  type CredentialKind,
  type ProxyCredential,
} from './settings.js';
import { hashToken, newCapabilityToken, readTokensFile, writeTokensFile } from './token-file.js';

export type { CredentialKind, ProxyCredential };

export interface EnsureApiProxyOptions {
  stateDir: string;
  /** Model API base URL, e.g. https://api.anthropic.com. */
  upstream: string;
  credential: ProxyCredential;
  logger?: Logger;
  /** The daemon exits after this long with no connections and no tokens (default 60 s). */
  idleExitMs?: number;
  /** ...or after this long with no connections even though tokens remain (default 6 h): nobody revoked them. */
  orphanExitMs?: number;
  /** On SIGTERM, how long in-flight requests may still run (default 15 min). */
  drainMs?: number;
  /** How long to wait for a freshly started daemon to listen (default 10 s). */
  startTimeoutMs?: number;
}

export interface ApiProxyHandle {
  /** The directory to bind-mount read-only at /run/claude-pod; it holds `api.sock`. */
  readonly socketDir: string;
  readonly socketPath: string;
  readonly credentialKind: CredentialKind;
  /** Pid of the daemon serving the socket (updated when this handle restarts it). */
  readonly pid: number;
  /** True when a running daemon was reused rather than started. */
  readonly reused: boolean;
  /** A new random capability token for the job (replacing any earlier one), persisted before it is returned. */
  grant(jobId: string): Promise<string>;
  /** The job's token stops working at once (the daemon checks the tokens file on every request). */
  revoke(jobId: string): Promise<void>;
  /** Whether the job still holds a token, e.g. after a supervisor restart. */
  isGranted(jobId: string): Promise<boolean>;
  /**
   * Makes sure a daemon serves the socket (it exits by itself when idle; `grant` calls this too):
   * restarts it with this handle's upstream and credential when none answers. For reattach.
   */
  ensureRunning(): Promise<void>;
  /** Stops the daemon: SIGTERM, then SIGKILL if it is still there after `graceMs` (default 5 s). */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

// One operation at a time per state directory within this process (ensure, grant, revoke).
const queues = new Map<string, Promise<unknown>>();
function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.catch(() => undefined);
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}

export async function ensureApiProxy(options: EnsureApiProxyOptions): Promise<ApiProxyHandle> {
  const paths = proxyPaths(options.stateDir);
  const serving = await serialized(paths.dir, () => startOrReuse(options, paths));
  return makeHandle(options, paths, serving);
}

interface Serving {
  pid: number;
  reused: boolean;
}

/** Reuse the daemon serving the socket if its configuration matches, else (re)start it. Not serialized: callers are. */
async function startOrReuse(options: EnsureApiProxyOptions, paths: ProxyPaths): Promise<Serving> {
  const fingerprint = configFingerprint(options.upstream, options.credential);
  await prepareProxyDir(paths);
  await prepareSocketDir(paths.socketDir);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const running = await findRunning(paths);
    if (
      running?.info &&
      running.info.fingerprint === fingerprint &&
      running.info.socketPath === paths.socketPath
    ) {
      options.logger?.debug({ pid: running.pid }, 'reusing api proxy');
      return { pid: running.pid, reused: true };
    }
    if (running) {
      options.logger?.info({ pid: running.pid }, 'api proxy runs with another configuration; restarting it');
      await terminate(running.pid, paths, 5000);
    } else if (await settleSilentDaemon(paths)) {
      continue; // it answers again (it was between two listens): look once more
    }
    const started = await spawnDaemon(options, paths);
    if (started !== 'peer-running') {
      options.logger?.info({ pid: started, socket: paths.socketPath }, 'api proxy started');
      return { pid: started, reused: false };
    }
  }
  throw new ClaudePodError(
    ErrorCodes.INTERNAL,
    'API proxy: could not take over the socket from another proxy',
    {
      details: { socketPath: paths.socketPath },
    },
  );
}

async function findRunning(paths: ProxyPaths): Promise<{ pid: number; info: ProxyPidFile | null } | null> {
  const [info, answering] = await Promise.all([readPidFile(paths.pidFile), probeProxy(paths.socketPath)]);
  if (answering === null) return null;
  return { pid: answering, info: info?.pid === answering ? info : null };
}

/**
 * The pid file names a live daemon that does not answer: give it a moment (it may be re-listening
 * or deciding whether to exit when idle), then kill it — only if it is ours (pids get reused).
 * Returns true when it answers again.
 */
async function settleSilentDaemon(paths: ProxyPaths): Promise<boolean> {
  const info = await readPidFile(paths.pidFile);
  if (!info || !isAlive(info.pid) || !(await isProxyProcess(info.pid))) return false;
  let answered = false;
  await waitFor(async () => {
    answered = (await probeProxy(paths.socketPath, 200)) === info.pid;
    return answered || !isAlive(info.pid);
  }, 1500);
  if (answered || !isAlive(info.pid)) return answered;
  process.kill(info.pid, 'SIGKILL');
  await waitFor(() => !isAlive(info.pid), 2000);
  return false;
}

async function isProxyProcess(pid: number): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return /proxy[/\\]main\.(js|ts)/.test(cmdline);
  } catch {
    return false;
  }
}

/** SIGTERM: the daemon gives up socket and pid file at once and drains; SIGKILL if it does neither in time. */
async function terminate(pid: number, paths: ProxyPaths, timeoutMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const released = await waitFor(
    async () =>
      !isAlive(pid) ||
      ((await readPidFile(paths.pidFile))?.pid !== pid && (await probeProxy(paths.socketPath, 200)) !== pid),
    timeoutMs,
  );
  if (!released && isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), 2000);
  }
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How to run the daemon: the built `main.js`, or `main.ts` through tsx when running from source. */
export function daemonCommand(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    return { command: process.execPath, args: ['--import', loader, join(dirname(here), 'main.ts')] };
  }
  return { command: process.execPath, args: [join(dirname(here), 'main.js')] };
}

const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', ENV.logLevel];

async function spawnDaemon(
  options: EnsureApiProxyOptions,
  paths: ProxyPaths,
): Promise<number | 'peer-running'> {
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASSED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  env[ENV.stateDir] = resolve(options.stateDir);
  env[ENV.socketPath] = paths.socketPath;
  env[ENV.upstream] = options.upstream;
  env[ENV.credentialKind] = options.credential.kind;
  env[ENV.credential] = options.credential.value;
  if (options.idleExitMs !== undefined) env[ENV.idleExitMs] = String(options.idleExitMs);
  if (options.drainMs !== undefined) env[ENV.drainMs] = String(options.drainMs);
  if (options.orphanExitMs !== undefined) env[ENV.orphanExitMs] = String(options.orphanExitMs);
  env[READY_FD_ENV] = '3';

  const { command, args } = daemonCommand();
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    cwd: paths.dir,
    env,
  });
  const pipe = child.stdio[3];
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  try {
    const message = await new Promise<Record<string, unknown>>((resolvePromise, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (value: Record<string, unknown> | Error): void => {
        clearTimeout(timer);
        if (value instanceof Error) reject(value);
        else resolvePromise(value);
      };
      child.once('error', done);
      child.once('exit', (code) => {
        if (code === EXIT_PEER_RUNNING) done({ error: 'peer-running' });
        else done(new Error(`exited with code ${code} before listening`));
      });
      pipe?.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const nl = text.indexOf('\n');
        if (nl === -1) return;
        try {
          done(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
        } catch (error) {
          done(error as Error);
        }
      });
      pipe?.on('error', () => undefined);
    });
    if (message.ready === true && typeof message.pid === 'number') return message.pid;
    if (message.error === 'peer-running') return 'peer-running';
    throw new Error(String(message.error ?? 'unexpected answer'));
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw new ClaudePodError(
      ErrorCodes.INTERNAL,
      `API proxy failed to start: ${(error as Error).message} (log: ${paths.logFile})`,
      { cause: error, details: { logFile: paths.logFile } },
    );
  } finally {
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    pipe?.destroy();
    child.unref();
  }
}

function makeHandle(options: EnsureApiProxyOptions, paths: ProxyPaths, initial: Serving): ApiProxyHandle {
  let serving = initial;
  const checkJobId = (jobId: string): void => {
    if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 256) {
      throw new ClaudePodError(ErrorCodes.INVALID_ARGUMENT, 'API proxy: a job id must be a non-empty string');
    }
  };
  // The daemon may have exited since (idle, or killed): a granted token must meet a live proxy.
  const ensureServing = async (): Promise<void> => {
    if ((await probeProxy(paths.socketPath, 1000)) === serving.pid) return;
    serving = await startOrReuse(options, paths);
  };
  return {
    socketDir: paths.socketDir,
    socketPath: paths.socketPath,
    credentialKind: options.credential.kind,
    get pid() {
      return serving.pid;
    },
    reused: initial.reused,
    grant: (jobId) => {
      checkJobId(jobId);
      return serialized(paths.dir, async () => {
        const token = newCapabilityToken();
        const data = await readTokensFile(paths.tokensFile);
        data.tokens[jobId] = { sha256: hashToken(token), grantedAt: Date.now() };
        await writeTokensFile(paths.tokensFile, data);
        await ensureServing();
        return token;
      });
    },
    revoke: (jobId) =>
      serialized(paths.dir, async () => {
        const data = await readTokensFile(paths.tokensFile);
        if (!(jobId in data.tokens)) return;
        delete data.tokens[jobId];
        await writeTokensFile(paths.tokensFile, data);
      }),
    isGranted: async (jobId) => jobId in (await readTokensFile(paths.tokensFile)).tokens,
    ensureRunning: () => serialized(paths.dir, ensureServing),
    stop: ({ graceMs = 5000 } = {}) =>
      serialized(paths.dir, async () => {
        const current = (await readPidFile(paths.pidFile))?.pid ?? serving.pid;
        for (const target of new Set([serving.pid, current])) {
          if (!isAlive(target) || !(await isProxyProcess(target))) continue;
          process.kill(target, 'SIGTERM');
          if (!(await waitFor(() => !isAlive(target), graceMs))) {
            process.kill(target, 'SIGKILL');
            await waitFor(() => !isAlive(target), 2000);
          }
        }
      }),
  };
}
