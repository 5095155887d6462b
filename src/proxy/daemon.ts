import { watch, type FSWatcher } from 'node:fs';
import { lstat, rmdir } from 'node:fs/promises';
import type http from 'node:http';
import type { Logger } from 'pino';
import { ActivityTouch } from './activity.js';
import { createControlServer, fetchHealth, type ProxyHealth, type SyncReply } from './control.js';
import { parseAllowlist } from '../shared/egress-allowlist.js';
import { createEgress, type EgressHandler } from './egress/egress-proxy.js';
import { credentialSource } from './oauth/oauth-credential.js';
import { connectionBudget, readFdLimit, type FdLimit } from './fd-limit.js';
import { createForwarder, type JobRequestHandler } from './http-proxy.js';
import { JobListener, type ListenerHost } from './job-listener.js';
import {
  currentUser,
  jobSocketDir,
  prepareJobSocketDir,
  prepareSocketRoot,
  type ProxyPaths,
} from './paths.js';
import { isAlive, readPidFile, removePidFileIfOwned, writePidFile } from './pid-file.js';
import { normalizeUpstream, PROXY_PROTOCOL, type DaemonSettings } from './settings.js';
import { listenAt, socketInode, unlinkIfOurs } from './socket-file.js';
import { ThrottledLog } from './throttled-log.js';
import { TokenTable } from './token-file.js';

/** How long a superseded daemon keeps sockets its successor has not replaced yet. */
const HANDOVER_MS = 10_000;

/**
 * The proxy daemon of one state directory: one process for every job, one socket per job.
 * - The tokens file decides which job sockets exist: a socket for every granted job (created,
 *   or re-created after a restart), none for a revoked one.
 * - While the pid file names this process it serves; once a successor has written it (a new
 *   configuration, or a supervisor that found this one unresponsive), it hands over: each socket
 *   keeps accepting until the successor has put its own in its place (socket-file.ts renames it
 *   in atomically), then it lets the exchanges in flight finish and exits. A takeover never
 *   leaves a job without a socket and never cuts a stream.
 * - It exits by itself when idle: no tokens and no connections for `idleExitMs`, or no
 *   connections at all for `orphanExitMs` (tokens nobody revoked).
 */
export class ProxyDaemon implements ListenerHost {
  private readonly tokens: TokenTable;
  private readonly activity: ActivityTouch;
  private readonly forward: JobRequestHandler;
  private readonly egress: EgressHandler;
  private readonly listeners = new Map<string, JobListener>();
  /** Listeners of revoked jobs whose connections have not ended yet. */
  private readonly retired = new Set<JobListener>();
  private readonly warnings: ThrottledLog;
  private readonly fdLimit: FdLimit | null = readFdLimit();
  private control: http.Server | null = null;
  private controlIno: number | null = null;
  private watcher: FSWatcher | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private totalConnections = 0;
  private idleSince: number | null = null;
  private isServing = true;
  private isDraining = false;
  private reconciling: Promise<void> = Promise.resolve();
  private ticking = false;
  private readonly startedAt = Date.now();
  /** Set once a successor has claimed the pid file: until then, keep what it has not replaced yet. */
  private handoverUntil: number | null = null;

  constructor(
    private readonly settings: DaemonSettings,
    private readonly paths: ProxyPaths,
    private readonly fingerprint: string,
    private readonly logger: Logger,
  ) {
    this.tokens = new TokenTable(paths.tokensFile);
    this.activity = new ActivityTouch(paths);
    this.warnings = new ThrottledLog(logger, 5000);
    const egress = settings.options.egress;
    this.egress = createEgress({
      allowlist: egress ? parseAllowlist(egress.allowlist) : null,
      lookupToken: (token) => this.tokens.jobFor(token),
      onActivity: (jobId) => this.activity.touch(jobId),
      logger,
    });
    this.forward = createForwarder({
      egress: this.egress,
      upstream: settings.upstream,
      credential: credentialSource(settings, logger),
      refuseServerTools: settings.options.refuseServerTools,
      lookupToken: (token) => this.tokens.jobFor(token),
      onActivity: (jobId) => this.activity.touch(jobId),
      draining: () => this.isDraining || !this.isServing,
      logger,
    });
  }

  private get budget(): number {
    return connectionBudget(this.fdLimit, this.listeners.size);
  }

  async start(): Promise<void> {
    await this.claim();
    await prepareSocketRoot(this.paths.socketRoot);
    await this.tokens.refresh();
    await this.reconcile();
    await this.listenControl();
    try {
      // Prompt token reloads and takeover notices; the tick below checks again in case an event is lost.
      this.watcher = watch(this.paths.dir, () => void this.onChange());
    } catch {
      this.watcher = null;
    }
    const tickMs = Math.max(50, Math.min(1000, Math.floor(this.settings.idleExitMs / 4)));
    this.ticker = setInterval(() => void this.tick(), tickMs);
    this.logger.info(
      {
        pid: process.pid,
        jobs: this.listeners.size,
        upstream: normalizeUpstream(this.settings.upstream),
        fdLimit: this.fdLimit,
        connectionBudget: this.budget,
        limits: this.settings.limits,
      },
      'api proxy listening',
    );
  }

  // ---- ListenerHost -------------------------------------------------------------------------

  hasRoom(): boolean {
    return this.totalConnections < this.budget;
  }

  serving(): boolean {
    return this.isServing && !this.isDraining;
  }

  connectionOpened(): void {
    this.totalConnections += 1;
    this.idleSince = null;
  }

  connectionClosed(): void {
    this.totalConnections -= 1;
    if (this.isDraining && this.totalConnections === 0) this.exit(0, 'drained');
  }

  onPaused(jobId: string, reason: string): void {
    this.warnings.warn(
      `paused:${jobId}`,
      { jobId, reason, connections: this.listeners.get(jobId)?.connections, total: this.totalConnections },
      'job socket at its connection cap: not accepting until it is below',
    );
  }

  // ---- control ------------------------------------------------------------------------------

  health(): ProxyHealth {
    return {
      pid: process.pid,
      protocol: PROXY_PROTOCOL,
      fingerprint: this.fingerprint,
      startedAt: this.startedAt,
      serving: this.isServing,
      draining: this.isDraining,
      jobs: this.listeners.size,
      connections: this.totalConnections,
      fdLimit: this.fdLimit?.soft ?? null,
      connectionBudget: this.budget,
    };
  }

  async sync(): Promise<SyncReply | null> {
    if (!this.serving()) return null;
    await this.tokens.refresh();
    await this.reconcile();
    if (!this.serving()) return null;
    return { pid: process.pid, fingerprint: this.fingerprint, jobs: [...this.listeners.keys()] };
  }

  private async listenControl(): Promise<void> {
    const server = createControlServer({ health: () => this.health(), sync: () => this.sync() });
    server.on('error', (err) => this.logger.warn({ err }, 'control socket error'));
    const previous = this.control;
    this.controlIno = await listenAt(server, this.paths.controlSocket, null);
    this.control = server;
    previous?.close();
  }

  // ---- serving ------------------------------------------------------------------------------

  /** Writes the pid file: from now on this process is the one that serves. */
  private async claim(): Promise<void> {
    await writePidFile(this.paths.pidFile, {
      protocol: PROXY_PROTOCOL,
      pid: process.pid,
      fingerprint: this.fingerprint,
      controlSocket: this.paths.controlSocket,
      upstream: normalizeUpstream(this.settings.upstream),
      credentialKind: this.settings.credential.kind,
      startedAt: this.startedAt,
    });
  }

  /** One job socket per granted job; revoked jobs lose theirs. One run at a time. */
  private reconcile(): Promise<void> {
    const run = this.reconciling.then(() => this.reconcileOnce());
    this.reconciling = run.catch((err: unknown) => this.logger.error({ err }, 'reconcile failed'));
    return run;
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.serving()) return;
    for (const granted of this.tokens.granted()) {
      if (this.listeners.has(granted.jobId)) continue;
      const dir = jobSocketDir(this.paths, granted.jobId);
      const listener = new JobListener(
        granted.jobId,
        dir,
        granted.owner,
        this.settings.limits,
        this,
        this.forward,
        (req, socket, head, job) => this.egress.connect(req, socket, head, job),
      );
      try {
        await prepareJobSocketDir(dir, granted.owner ?? currentUser());
        await listener.listen();
        this.listeners.set(granted.jobId, listener);
      } catch (err) {
        listener.dispose();
        this.logger.error({ jobId: granted.jobId, err }, 'cannot create the job socket');
      }
    }
    for (const [jobId, listener] of this.listeners) {
      if (this.tokens.has(jobId)) continue;
      this.listeners.delete(jobId);
      await listener.close({ removePath: true });
      await rmdir(listener.socketDir).catch(() => undefined);
      this.activity.forget(jobId);
      this.retired.add(listener);
      this.logger.info({ jobId }, 'job socket closed (token revoked)');
    }
  }

  private onChange(): void {
    void this.refreshAndCheck().catch((err: unknown) => this.logger.warn({ err }, 'reload failed'));
  }

  private async refreshAndCheck(): Promise<void> {
    if (this.isDraining) return;
    await this.checkServing();
    if (!this.serving()) return;
    if (await this.tokens.refresh()) await this.reconcile();
  }

  /**
   * A successor named in the pid file means we give way. No pid file at all means our state
   * directory is being removed (nobody else deletes it: a daemon removes it only while it names
   * itself), so we stop rather than write files into a directory on its way out; an unreadable
   * one is written again.
   */
  private async checkServing(): Promise<void> {
    if (this.handoverUntil !== null) return this.handover();
    const current = await readPidFile(this.paths.pidFile);
    if (current === null) {
      if (!(await exists(this.paths.pidFile))) return this.drain('state directory removed');
      if (this.serving()) await this.claim();
      return;
    }
    if (current.pid === process.pid || !isAlive(current.pid)) return;
    this.logger.info({ successor: current.pid }, 'superseded by another api proxy; handing over');
    this.isServing = false;
    this.handoverUntil = Date.now() + HANDOVER_MS;
    await this.handover();
  }

  /**
   * A successor claimed the pid file and is putting its own sockets in place. Each of ours keeps
   * accepting until its path names the successor's socket, so a connect never finds nothing to
   * talk to; then (or after HANDOVER_MS at most) we drain.
   */
  private async handover(): Promise<void> {
    await this.tokens.refresh(); // revocations still apply to what we serve meanwhile
    let open = 0;
    for (const listener of this.listeners.values()) {
      if (listener.isClosed) continue;
      if (await listener.ownsPath()) open += 1;
      else await listener.close({ removePath: false });
    }
    const controlOurs =
      this.controlIno !== null && (await socketInode(this.paths.controlSocket)) === this.controlIno;
    if ((open === 0 && !controlOurs) || Date.now() >= (this.handoverUntil ?? 0))
      await this.drain('superseded');
  }

  /** Sockets someone removed (a temp cleaner) or that a predecessor put back are ours again. */
  private async verifySockets(): Promise<void> {
    for (const listener of this.listeners.values()) {
      if (listener.paused !== null) {
        listener.maybeResume();
        continue;
      }
      if (await listener.ownsPath()) continue;
      if (!this.serving()) return;
      this.logger.warn({ jobId: listener.jobId }, 'job socket file replaced or removed; listening again');
      const granted = this.tokens.granted().find((g) => g.jobId === listener.jobId);
      await prepareJobSocketDir(listener.socketDir, granted?.owner ?? currentUser());
      await listener.listen();
    }
    if (this.controlIno !== null && (await socketInode(this.paths.controlSocket)) !== this.controlIno) {
      if (!this.serving()) return;
      this.logger.warn('control socket replaced or removed; listening again');
      await prepareSocketRoot(this.paths.socketRoot);
      await this.listenControl();
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.tickOnce();
    } catch (err) {
      this.logger.warn({ err }, 'tick');
    } finally {
      this.ticking = false;
    }
  }

  private async tickOnce(): Promise<void> {
    for (const listener of this.retired) {
      listener.closeIdle();
      if (listener.connections === 0) {
        listener.dispose();
        this.retired.delete(listener);
      }
    }
    if (this.isDraining || this.handoverUntil !== null) {
      for (const listener of this.listeners.values()) listener.closeIdle();
    }
    if (this.isDraining) {
      if (this.totalConnections === 0) this.exit(0, 'drained');
      return;
    }
    await this.refreshAndCheck();
    if (!this.serving()) return;
    await this.verifySockets();
    if (this.totalConnections > 0) {
      this.idleSince = null;
      return;
    }
    this.idleSince ??= Date.now();
    const quiet = Date.now() - this.idleSince;
    if (this.tokens.size === 0 && quiet >= this.settings.idleExitMs) await this.drain('idle');
    // Tokens nobody revoked (a supervisor that died for good) must not keep us alive for ever.
    else if (quiet >= this.settings.orphanExitMs) await this.drain('orphaned');
  }

  /**
   * Stop accepting everywhere, give the pid file and the control socket up (when still ours), let
   * in-flight exchanges finish, and exit — at once when nothing is open, else after `drainMs`.
   * Job socket files stay: a successor replaces them, and until then connects are refused.
   */
  async drain(reason: string): Promise<void> {
    if (this.isDraining) return;
    this.isDraining = true;
    this.watcher?.close();
    for (const listener of this.listeners.values()) await listener.close({ removePath: false });
    this.control?.close();
    await unlinkIfOurs(this.paths.controlSocket, this.controlIno);
    await removePidFileIfOwned(this.paths.pidFile, process.pid);
    this.logger.info({ reason, connections: this.totalConnections }, 'api proxy stopping');
    if (this.totalConnections === 0) this.exit(0, reason);
    setTimeout(() => {
      for (const listener of [...this.listeners.values(), ...this.retired]) listener.destroyAll();
      this.exit(0, `${reason}: drain timeout`);
    }, this.settings.drainMs).unref();
  }

  exit(code: number, reason: string): never {
    if (this.ticker) clearInterval(this.ticker);
    this.logger.info({ code, reason }, 'api proxy exited');
    process.exit(code);
  }
}

/** Used by the daemon's start: is a daemon with this configuration already serving? */
export async function peerServing(socketPath: string, fingerprint: string): Promise<number | null> {
  const health = await fetchHealth(socketPath, 1000);
  if (health && health.fingerprint === fingerprint && health.serving && !health.draining) return health.pid;
  return null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
