import http from 'node:http';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { ClaudePodError, ErrorCodes, deserializeError, jobNotFound } from '../../shared/errors.js';
import type {
  CleanupResult,
  OutputPage,
  StartInput,
  StartResult,
  SupervisorApi,
  SupervisorEvents,
  SupervisorInfo,
  WaitOptions,
} from '../api.js';
import { jobStatusView, type JobStatus } from '../job-view.js';
import type { JobRecord, SessionRecord } from '../records.js';
import { validateJobId } from '../session-ids.js';
import { sessionInfoView, type SessionInfo } from '../session-view.js';
import {
  CONTROL_PATHS,
  type CallMethod,
  type CallReply,
  type MirrorJob,
  type StreamMessage,
} from './protocol.js';

export interface ClientOptions {
  /** How long to keep trying to reach an owner after the connection broke (default 30 s). */
  reconnectForMs?: number;
  /**
   * Called when no owner answers after the connection broke, before trying again: the CLI uses
   * it to start `claude-pod serve`, so a job it follows never goes unsupervised.
   */
  onOwnerGone?: () => Promise<void>;
  /** How long connect() waits for the first answer (default 10 s). */
  connectTimeoutMs?: number;
}

/** While no owner answers, `onOwnerGone` is asked at most this often. */
const OWNER_ASK_INTERVAL_MS = 1_000;
/** A call that met an owner on its way out is sent again this many times at most. */
const MAX_CALL_ATTEMPTS = 3;

/**
 * A handle on a state directory owned by another process (or another supervisor in this one):
 * the same interface as the owner, over its control socket. It mirrors the owner's jobs and
 * sessions from the event stream, so `status()`, `jobs()` and `sessions()` answer from memory.
 * `close()` closes only the connection.
 */
export class SupervisorClient extends EventEmitter<SupervisorEvents> implements SupervisorApi {
  private readonly jobsById = new Map<string, MirrorJob>();
  private readonly sessionsById = new Map<string, SessionRecord>();
  private readonly seqOf = new Map<string, number>();
  private ownerInfo: SupervisorInfo | null = null;
  private workspacesDir = '';
  private stream: http.ClientRequest | null = null;
  private closed = false;
  private connected: Promise<void> | null = null;
  /** Counts the event streams opened (each begins with a `hello` from the owner then). */
  private generation = 0;
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(
    readonly socketPath: string,
    private readonly opts: ClientOptions,
  ) {
    super();
  }

  static async connect(socketPath: string, opts: ClientOptions = {}): Promise<SupervisorClient> {
    const client = new SupervisorClient(socketPath, opts);
    client.connected = client.open(opts.connectTimeoutMs ?? 10_000);
    await client.connected;
    return client;
  }

  /**
   * Opens the event stream; resolves at its `hello` (the mirror is then complete). Calls wait on
   * `connected`, which is set by the caller: a reconnect's single attempts must not fail them.
   */
  private open(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy();
        reject(unreachable(this.socketPath, 'no answer'));
      }, timeoutMs);
      timer.unref();
      const req = http.get(
        { socketPath: this.socketPath, path: CONTROL_PATHS.events, agent: false },
        (res) => {
          let pending = '';
          let greeted = false;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            pending += chunk;
            let nl: number;
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl);
              pending = pending.slice(nl + 1);
              if (!line) continue;
              const message = JSON.parse(line) as StreamMessage;
              this.onMessage(message);
              if (message.t === 'hello' && !greeted) {
                greeted = true;
                this.generation++;
                clearTimeout(timer);
                resolve();
              }
            }
          });
          res.on('close', () => {
            if (!greeted) reject(unreachable(this.socketPath, 'the owner closed the connection'));
            else this.onDisconnect();
          });
        },
      );
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(unreachable(this.socketPath, error.message));
      });
      this.stream = req;
    });
  }

  private onDisconnect(): void {
    if (this.closed) return;
    this.connected = this.reconnect();
    this.connected.catch(() => undefined);
  }

  private async reconnect(): Promise<void> {
    const deadline = Date.now() + (this.opts.reconnectForMs ?? 30_000);
    // Asked again while no owner answers: the old one may still hold the directory (it is
    // finishing its close) the first time, and only a later ask can start the next one.
    let askedAt = 0;
    for (;;) {
      if (this.closed) throw closedError();
      try {
        await this.open(2_000);
        return;
      } catch (error) {
        if (this.opts.onOwnerGone && Date.now() - askedAt >= OWNER_ASK_INTERVAL_MS) {
          askedAt = Date.now();
          await this.opts.onOwnerGone().catch(() => undefined);
          continue;
        }
        if (Date.now() > deadline) {
          this.emit('error', error as ClaudePodError);
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private onMessage(message: StreamMessage): void {
    switch (message.t) {
      case 'hello':
        this.ownerInfo = message.info;
        this.workspacesDir = message.workspacesDir;
        for (const s of message.sessions) this.putSession(s, message.seq);
        for (const j of message.jobs) this.putJob(j, message.seq);
        break;
      case 'job': {
        if (message.session) this.putSession(message.session, message.seq);
        const applied = this.putJob(message.job, message.seq);
        if (message.event && applied) this.emit(message.event, this.view(message.job));
        break;
      }
      case 'session:removed':
        this.sessionsById.delete(message.sessionId);
        for (const [id, job] of this.jobsById)
          if (job.sessionId === message.sessionId) this.jobsById.delete(id);
        this.emit('session:removed', message.sessionId);
        break;
    }
  }

  private putJob(job: MirrorJob, seq: number): boolean {
    if ((this.seqOf.get(job.jobId) ?? -1) > seq) return false;
    this.seqOf.set(job.jobId, seq);
    this.jobsById.set(job.jobId, job);
    return true;
  }

  private putSession(session: SessionRecord, seq: number): void {
    const key = `s:${session.sessionId}`;
    if ((this.seqOf.get(key) ?? -1) > seq) return;
    this.seqOf.set(key, seq);
    this.sessionsById.set(session.sessionId, session);
  }

  private view(job: MirrorJob): JobStatus {
    return jobStatusView({ ...job, prompt: '' } as JobRecord, Date.now());
  }

  /**
   * One call to the owner. When the owner is on its way out — it answers SUPERVISOR_CLOSED while
   * it closes, or its socket is gone — the call waits until the event stream is back (the
   * reconnect may start the next owner, see `onOwnerGone`) and goes to the owner then. Only calls
   * that cannot have taken effect are sent again: a closing owner refuses them, and a request
   * that never reached a socket was not read.
   */
  private async call<T>(method: CallMethod, params: Record<string, unknown>): Promise<T> {
    const body = JSON.stringify({ method, params });
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw closedError();
      await this.connected;
      const generation = this.generation;
      const sent = await this.send(body);
      const again =
        attempt < MAX_CALL_ATTEMPTS &&
        ('unsent' in sent || (!sent.reply.ok && sent.reply.error.code === ErrorCodes.SUPERVISOR_CLOSED));
      if (again) {
        await this.nextOwner(generation);
        continue;
      }
      if ('unsent' in sent) throw sent.unsent;
      const reply = sent.reply;
      if (!reply.ok) throw deserializeError(reply.error);
      if (reply.session) this.putSession(reply.session, reply.seq);
      if (reply.job) this.putJob(reply.job, reply.seq);
      return reply.result as T;
    }
  }

  /** Sends a request; `unsent` when it provably never reached the owner. */
  private send(body: string): Promise<{ reply: CallReply } | { unsent: ClaudePodError }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          path: CONTROL_PATHS.call,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve({ reply: JSON.parse(Buffer.concat(chunks).toString('utf8')) as CallReply });
            } catch {
              reject(unreachable(this.socketPath, 'an unreadable answer'));
            }
          });
          res.on('error', (e) => reject(unreachable(this.socketPath, e.message)));
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        const error = unreachable(this.socketPath, e.message);
        // The connection failed (no request was written), or a kept-alive socket that the owner
        // had closed before reading from it (Node's documented case for a safe retry).
        const unsent = e.syscall === 'connect' || (req.reusedSocket && e.code === 'ECONNRESET');
        if (unsent) resolve({ unsent: error });
        else reject(error);
      });
      req.end(body);
    });
  }

  /** Waits until the event stream is open again after `generation` (rejects when no owner comes). */
  private async nextOwner(generation: number): Promise<void> {
    const deadline = Date.now() + (this.opts.reconnectForMs ?? 30_000) + 5_000;
    while (this.generation === generation) {
      if (this.closed) throw closedError();
      if (Date.now() > deadline) throw unreachable(this.socketPath, 'no owner came back');
      await this.connected;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  // ---- SupervisorApi ----

  start(input: StartInput): Promise<StartResult> {
    return this.call('start', {
      prompt: input?.prompt,
      ...(input?.sessionId === undefined ? {} : { sessionId: input.sessionId }),
    });
  }

  status(jobId: string): JobStatus {
    validateJobId(jobId);
    const job = this.jobsById.get(jobId);
    if (!job) throw jobNotFound(jobId);
    return this.view(job);
  }

  jobs(): JobStatus[] {
    return [...this.jobsById.values()].map((j) => this.view(j));
  }

  output(jobId: string, opts: { offset?: number; limit?: number } = {}): Promise<OutputPage> {
    validateJobId(jobId);
    return this.call('output', { jobId, ...opts });
  }

  cancel(jobId: string, opts: WaitOptions = {}): Promise<JobStatus> {
    validateJobId(jobId);
    return this.call('cancel', {
      jobId,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
  }

  sessions(): SessionInfo[] {
    const now = Date.now();
    return [...this.sessionsById.values()].map((s) => {
      const active = s.activeJobId ? this.jobsById.get(s.activeJobId) : undefined;
      return sessionInfoView(s, join(this.workspacesDir, s.sessionId), active?.status ?? null, now);
    });
  }

  cleanup(opts: { olderThanSeconds?: number } = {}): Promise<CleanupResult> {
    return this.call('cleanup', opts);
  }

  info(): SupervisorInfo {
    if (!this.ownerInfo) throw unreachable(this.socketPath, 'not connected');
    return { ...this.ownerInfo, role: 'client' };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream?.destroy();
    this.agent.destroy();
  }
}

function unreachable(socketPath: string, why: string): ClaudePodError {
  return new ClaudePodError(
    ErrorCodes.OWNER_UNREACHABLE,
    `The supervisor that owns this state directory does not answer on ${socketPath} (${why})`,
    { details: { socketPath } },
  );
}

const closedError = () =>
  new ClaudePodError(ErrorCodes.SUPERVISOR_CLOSED, 'This supervisor client is closed');
