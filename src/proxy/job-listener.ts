import http from 'node:http';
import net from 'node:net';
import type { JobContext, JobRequestHandler } from './http-proxy.js';
import type { JobLimits } from './limits.js';
import { JOB_SOCKET_NAME, type SocketOwner } from './paths.js';
import { RequestBudget } from './request-budget.js';
import { listenAt, socketInode, unlinkIfOurs } from './socket-file.js';
import { join } from 'node:path';

/** What a job's listener asks of the daemon that owns it. */
export interface ListenerHost {
  /** Whether the daemon-wide connection budget (from its fd limit) has room for one more. */
  hasRoom(): boolean;
  /** Whether this daemon still serves (a successor has not taken over). */
  serving(): boolean;
  connectionOpened(): void;
  connectionClosed(): void;
  onPaused(jobId: string, reason: string): void;
}

/**
 * One job's socket, `<socketDir>/api.sock`, and everything that bounds what that job can cost:
 * - connections: at `maxConnections` (or when the daemon is out of room) the job's socket stops
 *   accepting — its listening socket is closed, so further connects are refused by the kernel at
 *   no cost to the daemon — and it listens again once the job is down to three quarters;
 * - request rate: past its burst, the job's connections are not read until its budget refills
 *   (their senders block in the kernel), and the request that hit the limit gets 429;
 * - requests in flight upstream (`maxInFlight`), header/request/keep-alive/idle timeouts.
 * Other jobs have their own socket, accept queue and budgets, so none of this touches them.
 */
export class JobListener implements JobContext {
  readonly socketPath: string;
  private readonly http: http.Server;
  private server: net.Server | null = null;
  private ino: number | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly budget: RequestBudget;
  private inFlight = 0;
  private pausedReason: string | null = null;
  private relistening: Promise<void> | null = null;
  private readsPausedUntil = 0;
  private readsTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly jobId: string,
    readonly socketDir: string,
    private readonly owner: SocketOwner | null,
    private readonly limits: JobLimits,
    private readonly host: ListenerHost,
    handler: JobRequestHandler,
  ) {
    this.socketPath = join(socketDir, JOB_SOCKET_NAME);
    this.budget = new RequestBudget(limits.requestsPerSecond, limits.requestBurst);
    this.http = http.createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
        maxHeaderSize: 16 * 1024,
      },
      (req, res) => handler(req, res, this),
    );
    this.http.keepAliveTimeout = limits.keepAliveTimeoutMs;
    this.http.timeout = limits.idleTimeoutMs;
    // This server never listens itself (connections are handed to it), and node:http arms its
    // header and request timeouts on 'listening': arm them here. test/unit/proxy covers that the
    // timeouts really apply, so a node version that changes this fails there.
    this.http.emit('listening');
  }

  get connections(): number {
    return this.sockets.size;
  }

  get paused(): string | null {
    return this.pausedReason;
  }

  /** Listens and puts the socket in place (replacing whatever file is at the path). */
  async listen(): Promise<void> {
    if (this.closed) return;
    const server = net.createServer((socket) => this.onConnection(socket));
    server.on('error', () => undefined);
    this.ino = await listenAt(server, this.socketPath, this.owner);
    this.server = server;
    this.pausedReason = null;
  }

  /** True while the file at the socket path is ours (not replaced by a successor, not removed). */
  async ownsPath(): Promise<boolean> {
    return this.ino !== null && (await socketInode(this.socketPath)) === this.ino;
  }

  admitRequest(): boolean {
    const waitMs = this.budget.take();
    if (waitMs === 0) return true;
    this.pauseReads(Math.max(50, waitMs));
    return false;
  }

  beginExchange(): boolean {
    if (this.inFlight >= this.limits.maxInFlight) return false;
    this.inFlight += 1;
    return true;
  }

  endExchange(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** Accepting again after a pause, when the job is back under its cap and the daemon has room. */
  maybeResume(): void {
    if (this.pausedReason === null || this.closed || this.relistening) return;
    const resumeAt = Math.floor((this.limits.maxConnections * 3) / 4);
    if (this.sockets.size > resumeAt || !this.host.hasRoom() || !this.host.serving()) return;
    this.relistening = this.listen()
      .catch(() => undefined)
      .finally(() => {
        this.relistening = null;
      });
  }

  /**
   * Stops accepting. `removePath`: the job's token is gone, its socket file goes too (only if it
   * is still ours). Open connections end when their exchange does; idle ones now.
   */
  async close(opts: { removePath: boolean }): Promise<void> {
    this.closed = true;
    this.server?.close();
    this.server = null;
    if (this.readsTimer) clearTimeout(this.readsTimer);
    if (opts.removePath) await unlinkIfOurs(this.socketPath, this.ino);
    this.closeIdle();
  }

  closeIdle(): void {
    this.http.closeIdleConnections();
  }

  /** Ends every connection at once (the drain deadline). */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops the http server's timers once nothing is left. */
  dispose(): void {
    this.http.close();
  }

  private onConnection(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.host.connectionOpened();
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.host.connectionClosed();
      this.maybeResume();
    });
    socket.on('error', () => undefined);
    if (this.sockets.size >= this.limits.maxConnections) this.pause('connections');
    else if (!this.host.hasRoom()) this.pause('daemon-fd-budget');
    this.http.emit('connection', socket);
    if (this.readsPausedUntil > Date.now()) socket.pause();
  }

  private pause(reason: string): void {
    if (this.pausedReason !== null) return;
    this.pausedReason = reason;
    // Closing the listening socket leaves its file in place: connects get ECONNREFUSED from the
    // kernel, and what was queued but not accepted is dropped. Only this job is affected.
    this.server?.close();
    this.server = null;
    this.host.onPaused(this.jobId, reason);
  }

  private pauseReads(ms: number): void {
    const until = Date.now() + ms;
    if (until <= this.readsPausedUntil) return;
    this.readsPausedUntil = until;
    for (const socket of this.sockets) socket.pause();
    if (this.readsTimer) clearTimeout(this.readsTimer);
    this.readsTimer = setTimeout(() => {
      this.readsTimer = null;
      for (const socket of this.sockets) if (!socket.destroyed) socket.resume();
    }, ms);
    this.readsTimer.unref();
  }
}
