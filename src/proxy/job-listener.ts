import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { JobContext, JobRequestHandler } from './http-proxy.js';
import type { JobLimits } from './limits.js';
import { JOB_SOCKET_NAME, type SocketOwner } from './paths.js';
import { RequestBudget } from './request-budget.js';
import { listenAt, socketInode, unlinkIfOurs } from './socket-file.js';
import { join } from 'node:path';

/**
 * A job that breaks the rules (past its request burst, or pipelining) is not accepted from for
 * this long, doubling with every repeat within PENALTY_MEMORY_MS up to PENALTY_MAX_MS.
 */
const PENALTY_MIN_MS = 1000;
const PENALTY_MAX_MS = 30_000;
const PENALTY_MEMORY_MS = 30_000;

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
 * - request rate and pipelining: the request past the job's burst gets 429, and a request sent
 *   before the previous one's response ended (HTTP pipelining, which Claude Code never does)
 *   ends its connection. Either one is a penalty: the job's connections without an exchange in
 *   flight are closed and its socket stops accepting for 1 s, doubling with each repeat up to
 *   30 s. node:http parses a whole read (64 KiB, hundreds of pipelined requests) at once; the
 *   penalty bounds how many such reads a flood gets;
 * - requests in flight upstream (`maxInFlight`), header/request/keep-alive/idle timeouts.
 * Other jobs have their own socket, accept queue and budgets, so none of this touches them.
 */
export class JobListener implements JobContext {
  readonly socketPath: string;
  private readonly http: http.Server;
  private server: net.Server | null = null;
  private ino: number | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** Connections with a request whose response has not ended. */
  private readonly active = new Set<net.Socket>();
  private readonly budget: RequestBudget;
  private inFlight = 0;
  private pausedReason: string | null = null;
  private relistening: Promise<void> | null = null;
  private penaltyUntil = 0;
  private penaltyMs = 0;
  private lastViolationAt = 0;
  private penaltyTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly jobId: string,
    readonly socketDir: string,
    private readonly owner: SocketOwner | null,
    private readonly limits: JobLimits,
    private readonly host: ListenerHost,
    handler: JobRequestHandler,
    /** CONNECT requests (the egress proxy); without one they are refused. */
    connectHandler?: (req: http.IncomingMessage, socket: Duplex, head: Buffer, job: JobContext) => void,
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
      (req, res) => this.onRequest(req, res, handler),
    );
    this.http.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      // A tunnel lives on its own: the server's idle timer no longer applies, the egress proxy's does.
      if (connectHandler) connectHandler(req, socket, head, this);
      else socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
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

  get isClosed(): boolean {
    return this.closed;
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
    if (this.budget.take() === 0) return true;
    this.violation('request-rate');
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
    if (Date.now() < this.penaltyUntil) return;
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
    if (this.penaltyTimer) clearTimeout(this.penaltyTimer);
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
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, handler: JobRequestHandler): void {
    const socket = req.socket;
    // The rest of a pipelined read whose connection is already gone: not worth a look.
    if (socket.destroyed) return;
    if (this.active.has(socket)) {
      this.violation('pipelining');
      socket.destroy();
      return;
    }
    this.active.add(socket);
    res.once('close', () => this.active.delete(socket));
    handler(req, res, this);
  }

  /** A broken rule: stop accepting for the penalty, drop every connection not carrying an exchange. */
  private violation(reason: string): void {
    const now = Date.now();
    this.penaltyMs =
      now - this.lastViolationAt > PENALTY_MEMORY_MS
        ? PENALTY_MIN_MS
        : Math.min(PENALTY_MAX_MS, Math.max(PENALTY_MIN_MS, this.penaltyMs * 2));
    this.lastViolationAt = now;
    this.penaltyUntil = now + this.penaltyMs;
    this.pause(`${reason} (not accepting for ${this.penaltyMs} ms)`);
    for (const socket of this.sockets) if (!this.active.has(socket)) socket.destroy();
    if (this.penaltyTimer) clearTimeout(this.penaltyTimer);
    this.penaltyTimer = setTimeout(() => {
      this.penaltyTimer = null;
      this.maybeResume();
    }, this.penaltyMs);
    this.penaltyTimer.unref();
  }

  private pause(reason: string): void {
    if (this.pausedReason !== null) {
      this.pausedReason = reason;
      return;
    }
    this.pausedReason = reason;
    // Closing the listening socket leaves its file in place: connects get ECONNREFUSED from the
    // kernel, and what was queued but not accepted is dropped. Only this job is affected.
    this.server?.close();
    this.server = null;
    this.host.onPaused(this.jobId, reason);
  }
}
