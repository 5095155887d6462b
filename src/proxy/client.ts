/**
 * The supervisor's side of the API proxy. `ensureApiProxy` finds the daemon of a state directory
 * by asking its control socket, reuses it when it serves with the same upstream, credential and
 * limits (compared by fingerprint, a hash), and otherwise starts a new one detached, which takes
 * over every job socket while the old one drains. A daemon that is alive but slow to answer is
 * given time, never killed: only `stop()` kills, and only after asking it to drain.
 * Tokens are granted by writing their hashes to the tokens file and asking the daemon to sync.
 */
import { rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { fetchHealth, requestSync, type ProxyHealth } from './control.js';
import { resolveJobLimits, type JobLimits, type JobLimitsInput } from './limits.js';
import {
  activityFile,
  assertJobId,
  currentUser,
  jobSocketDir,
  jobSocketPath,
  prepareJobSocketDir,
  prepareProxyDir,
  prepareSocketRoot,
  proxyPaths,
  type ProxyPaths,
  type SocketOwner,
} from './paths.js';
import { isAlive, isProxyProcess, readLegacyPid, readPidFile } from './pid-file.js';
import { resolveProxyOptions, type ProxyOptions, type ProxyOptionsInput } from './proxy-options.js';
import { configFingerprint, type CredentialKind, type ProxyCredential } from './settings.js';
import { socketInode } from './socket-file.js';
import { spawnDaemon } from './spawn-daemon.js';
import { hashToken, newCapabilityToken, readTokensFile, writeTokensFile } from './token-file.js';

export type { CredentialKind, ProxyCredential, SocketOwner };

export interface EnsureApiProxyOptions {
  stateDir: string;
  /** Model API base URL, e.g. https://api.anthropic.com. */
  upstream: string;
  credential: ProxyCredential;
  /**
   * Owner of each job's socket directory and socket (mode 0700/0600): the container's user as
   * the host sees it (rootful podman: uid 1000). Default: the user running this process.
   */
  socketOwner?: SocketOwner;
  /** Per-job caps and timeouts (limits.ts). */
  limits?: JobLimitsInput;
  /** OAuth refresh, egress allowlist, server-side tools (proxy-options.ts). */
  proxyOptions?: ProxyOptionsInput;
  logger?: Logger;
  /** The daemon exits after this long with no connections and no tokens (default 60 s). */
  idleExitMs?: number;
  /** ...or after this long with no connections even though tokens remain (default 6 h): nobody revoked them. */
  orphanExitMs?: number;
  /** On SIGTERM or a takeover, how long in-flight requests may still run (default 15 min). */
  drainMs?: number;
  /** How long to wait for a freshly started daemon to serve (default 10 s). */
  startTimeoutMs?: number;
  /**
   * How long a daemon that is alive but does not answer its health check gets before a new one
   * takes over its sockets (default 5 s). It is never killed: it drains.
   */
  busyGraceMs?: number;
}

/** One job's way to the model API. */
export interface JobGrant {
  /** The capability token the job's container gets in place of the credential. */
  token: string;
  /** The job's own directory, to bind-mount read-only at /run/claude-pod; it holds `api.sock`. */
  socketDir: string;
  socketPath: string;
  /** Its mtime moves while bytes flow through the job's API exchanges. Outside `socketDir`. */
  activityFile: string;
}

export interface ApiProxyHandle {
  readonly paths: ProxyPaths;
  readonly credentialKind: CredentialKind;
  /** Pid of the daemon serving (updated when this handle starts a new one). */
  readonly pid: number;
  /** True when a running daemon was reused rather than started. */
  readonly reused: boolean;
  /** A new random token for the job (replacing any earlier one) and its socket, in place before this returns. */
  grant(jobId: string, opts?: { owner?: SocketOwner }): Promise<JobGrant>;
  /** The job's token stops working and its socket and directory are removed before this returns. */
  revoke(jobId: string): Promise<void>;
  /** Whether the job still holds a token, e.g. after a supervisor restart. */
  isGranted(jobId: string): Promise<boolean>;
  /**
   * After a restart: a daemon serves and the job's socket is in place (re-created when the daemon
   * had exited), in the same directory its container already mounts. Null when the job holds no token.
   */
  reattach(jobId: string): Promise<Omit<JobGrant, 'token'> | null>;
  /** Makes sure a daemon with this handle's configuration serves (it exits by itself when idle). */
  ensureRunning(): Promise<void>;
  /** The serving daemon's health (control socket), or null when none answers in time. */
  health(timeoutMs?: number): Promise<ProxyHealth | null>;
  /** Stops the daemon: SIGTERM (it drains), then SIGKILL if it is still there after `graceMs` (default 5 s). */
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

interface Context {
  options: EnsureApiProxyOptions;
  paths: ProxyPaths;
  limits: JobLimits;
  proxyOptions: ProxyOptions;
  fingerprint: string;
}

interface Serving {
  pid: number;
  reused: boolean;
}

const HEALTH_TIMEOUT_MS = 2000;
const SYNC_TIMEOUT_MS = 10_000;

export async function ensureApiProxy(options: EnsureApiProxyOptions): Promise<ApiProxyHandle> {
  const paths = proxyPaths(options.stateDir);
  const limits = resolveJobLimits(options.limits);
  const proxyOptions = resolveProxyOptions(options.proxyOptions);
  const ctx: Context = {
    options,
    paths,
    limits,
    proxyOptions,
    fingerprint: configFingerprint(options.upstream, options.credential, limits, proxyOptions),
  };
  const serving = await serialized(paths.dir, () => startOrReuse(ctx));
  return makeHandle(ctx, serving);
}

/** A daemon that serves with this configuration (not one draining or being replaced). */
const matches = (ctx: Context, health: ProxyHealth): boolean =>
  health.fingerprint === ctx.fingerprint && health.serving && !health.draining;

/** Reuse the daemon that serves if its configuration matches, else start one that takes over. */
async function startOrReuse(ctx: Context): Promise<Serving> {
  const { options, paths } = ctx;
  await prepareProxyDir(paths);
  await prepareSocketRoot(paths.socketRoot);
  const legacy = await readLegacyPid(paths.pidFile);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    let health = await fetchHealth(paths.controlSocket, HEALTH_TIMEOUT_MS);
    const named = (await readPidFile(paths.pidFile))?.pid ?? null;
    const silent =
      health === null && named !== null && isAlive(named) && (await isProxyProcess(named)) ? named : null;
    if (silent !== null) {
      // Alive but not answering: busy (or stuck). Give it time; never kill it for being slow.
      options.logger?.warn({ pid: silent }, 'api proxy slow to answer its health check; waiting');
      health = await fetchHealth(paths.controlSocket, options.busyGraceMs ?? 5000);
    }
    if (health && matches(ctx, health)) {
      options.logger?.debug({ pid: health.pid }, 'reusing api proxy');
      return { pid: health.pid, reused: true };
    }
    const previous = health?.pid ?? silent;
    const started = await spawnDaemon(
      {
        stateDir: options.stateDir,
        upstream: options.upstream,
        credential: options.credential,
        limits: ctx.limits,
        options: ctx.proxyOptions,
        ...(options.idleExitMs === undefined ? {} : { idleExitMs: options.idleExitMs }),
        ...(options.orphanExitMs === undefined ? {} : { orphanExitMs: options.orphanExitMs }),
        ...(options.drainMs === undefined ? {} : { drainMs: options.drainMs }),
        ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
      },
      paths,
    );
    if (started === 'peer-running') continue; // another starter won: look again
    options.logger?.info({ pid: started, previous }, 'api proxy started');
    // The predecessor has seen the pid file change (or will at its next tick); tell it anyway.
    for (const pid of [previous, legacy]) {
      if (pid !== null && pid !== started && isAlive(pid) && (await isProxyProcess(pid)))
        process.kill(pid, 'SIGTERM');
    }
    return { pid: started, reused: false };
  }
  throw new ClaudePodError(ErrorCodes.INTERNAL, 'API proxy: could not start or reuse a daemon', {
    details: { controlSocket: paths.controlSocket },
  });
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

function makeHandle(ctx: Context, initial: Serving): ApiProxyHandle {
  const { options, paths } = ctx;
  let serving = initial;
  const defaultOwner = options.socketOwner ?? currentUser();

  /** The daemon applies the tokens file now; one is started (or takes over) when none answers. */
  const syncServing = async (): Promise<void> => {
    let reply = await requestSync(paths.controlSocket, SYNC_TIMEOUT_MS);
    if (reply?.fingerprint !== ctx.fingerprint) {
      serving = await startOrReuse(ctx);
      reply = await requestSync(paths.controlSocket, SYNC_TIMEOUT_MS);
    }
    if (!reply) {
      throw new ClaudePodError(ErrorCodes.INTERNAL, 'API proxy: the daemon did not apply the tokens file', {
        details: { controlSocket: paths.controlSocket },
      });
    }
    serving = { ...serving, pid: reply.pid };
  };

  const requireSocket = async (jobId: string): Promise<void> => {
    if ((await socketInode(jobSocketPath(paths, jobId))) === null) {
      throw new ClaudePodError(
        ErrorCodes.INTERNAL,
        `API proxy: no socket for job ${jobId} (see ${paths.logFile})`,
        {
          details: { jobId, logFile: paths.logFile },
        },
      );
    }
  };

  const touchActivity = (jobId: string): Promise<void> =>
    writeFile(activityFile(paths, jobId), '', { flag: 'a', mode: 0o600 });

  return {
    paths,
    credentialKind: options.credential.kind === 'api-key' ? 'api-key' : 'oauth',
    get pid() {
      return serving.pid;
    },
    reused: initial.reused,
    grant: (jobId, opts = {}) => {
      assertJobId(jobId);
      return serialized(paths.dir, async () => {
        const owner = opts.owner ?? defaultOwner;
        await prepareProxyDir(paths);
        await prepareSocketRoot(paths.socketRoot);
        const socketDir = jobSocketDir(paths, jobId);
        await prepareJobSocketDir(socketDir, owner);
        await touchActivity(jobId);
        const token = newCapabilityToken();
        const data = await readTokensFile(paths.tokensFile);
        data.tokens[jobId] = {
          sha256: hashToken(token),
          grantedAt: Date.now(),
          uid: owner.uid,
          gid: owner.gid,
        };
        await writeTokensFile(paths.tokensFile, data);
        await syncServing();
        await requireSocket(jobId);
        return {
          token,
          socketDir,
          socketPath: jobSocketPath(paths, jobId),
          activityFile: activityFile(paths, jobId),
        };
      });
    },
    revoke: (jobId) => {
      assertJobId(jobId);
      return serialized(paths.dir, async () => {
        const data = await readTokensFile(paths.tokensFile);
        if (jobId in data.tokens) {
          delete data.tokens[jobId];
          await writeTokensFile(paths.tokensFile, data);
        }
        // The daemon closes the socket now if it answers; the files go either way.
        await requestSync(paths.controlSocket, SYNC_TIMEOUT_MS);
        await rm(jobSocketDir(paths, jobId), { recursive: true, force: true });
        await rm(activityFile(paths, jobId), { force: true });
      });
    },
    isGranted: async (jobId) => jobId in (await readTokensFile(paths.tokensFile)).tokens,
    reattach: (jobId) => {
      assertJobId(jobId);
      return serialized(paths.dir, async () => {
        const entry = (await readTokensFile(paths.tokensFile)).tokens[jobId];
        if (!entry) return null;
        await prepareProxyDir(paths);
        await prepareSocketRoot(paths.socketRoot);
        const owner =
          entry.uid === undefined ? defaultOwner : { uid: entry.uid, gid: entry.gid ?? entry.uid };
        // The directory normally survived (it is what the container mounts); recreated only if gone.
        await prepareJobSocketDir(jobSocketDir(paths, jobId), owner);
        await touchActivity(jobId);
        await syncServing();
        await requireSocket(jobId);
        return {
          socketDir: jobSocketDir(paths, jobId),
          socketPath: jobSocketPath(paths, jobId),
          activityFile: activityFile(paths, jobId),
        };
      });
    },
    ensureRunning: () =>
      serialized(paths.dir, async () => {
        const health = await fetchHealth(paths.controlSocket, HEALTH_TIMEOUT_MS);
        if (health && matches(ctx, health)) serving = { ...serving, pid: health.pid };
        else serving = await startOrReuse(ctx);
      }),
    health: (timeoutMs = HEALTH_TIMEOUT_MS) => fetchHealth(paths.controlSocket, timeoutMs),
    stop: ({ graceMs = 5000 } = {}) =>
      serialized(paths.dir, async () => {
        const named = (await readPidFile(paths.pidFile))?.pid;
        const answering = (await fetchHealth(paths.controlSocket, 500))?.pid;
        for (const target of new Set([serving.pid, named, answering])) {
          if (target === undefined || !isAlive(target) || !(await isProxyProcess(target))) continue;
          process.kill(target, 'SIGTERM');
          if (!(await waitFor(() => !isAlive(target), graceMs))) {
            process.kill(target, 'SIGKILL');
            await waitFor(() => !isAlive(target), 2000);
          }
        }
      }),
  };
}
