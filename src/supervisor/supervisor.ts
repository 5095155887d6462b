import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { containerNameFor } from '../runtime/labels.js';
import type { RuntimeInfo } from '../runtime/runtime-info.js';
import { toRuntimeSpec } from '../runtime/runtime-info.js';
import { imageExists, removeContainer } from '../runtime/container-cli.js';
import type { ResolvedConfig } from '../shared/config.js';
import {
  ClaudePodError,
  ErrorCodes,
  imageNotFound,
  jobNotFound,
  serializeError,
  type SerializedError,
} from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import {
  assertNever,
  emptyClaudeReport,
  terminalStates,
  workerMessageSchema,
  type JobOutcome,
  type JobProgress,
  type RuntimeSpec,
  type SupervisorMessage,
} from '../shared/protocol.js';
import { readOutput } from '../workers/output-reader.js';
import type { ApiAccess, ApiGate } from './api-gate.js';
import { buildJobSpec } from './job-spec.js';
import type { Notifier } from './notifier.js';
import { planReconcile, type ReconcilePlan } from './reconcile.js';
import { jobStatusView, type JobStatus } from './job-view.js';
import { JobPool, type JobPoolLike } from './pool.js';
import { InlineJobPool } from './inline-pool.js';
import type { JobRecord, RegistryState, SessionRecord } from './records.js';
import { RegistryFile } from './registry-file.js';
import { newJobId, validateJobId } from './session-ids.js';
import { SessionStore, type SessionInfo } from './session-store.js';

export const MAX_PROMPT_BYTES = 100 * 1024;

export interface SupervisorEvents {
  'job:start': (status: JobStatus) => void;
  'job:running': (status: JobStatus) => void;
  'job:progress': (status: JobStatus) => void;
  'job:end': (status: JobStatus) => void;
  'session:removed': (sessionId: string) => void;
  error: (error: ClaudePodError) => void;
}

export interface SupervisorDeps {
  config: ResolvedConfig;
  runtime: RuntimeInfo;
  ownerId: string;
  state: RegistryState;
  apiGate: ApiGate;
  logger?: Logger;
  containerUid: number | null;
  /** The staged container/runtime folder, bind-mounted at /opt/claude-pod. */
  runtimeDir: string;
  notifier?: Notifier;
  /** Benchmark baseline only: run jobs on the main thread instead of worker threads. */
  inlineJobsForBenchmark?: boolean;
  /** Called once by close(), after everything else (releases the state-dir lock). */
  onClose?: () => Promise<void>;
}

export interface OutputPage {
  jobId: string;
  status: JobStatus['status'];
  content: string;
  offset: number;
  nextOffset: number;
  size: number;
  hasMore: boolean;
}

interface LiveJob {
  abort: AbortController;
  send: (message: SupervisorMessage) => void;
  /** The worker has taken the job (it left piscina's queue). */
  accepted: boolean;
  ended: Promise<void>;
  resolveEnded: () => void;
}

/**
 * The supervisor: the main-thread owner of jobs and sessions. It hands each job to a worker
 * thread, keeps the latest snapshot of every job (so `status()` never waits on a worker) and
 * persists the registry. Construct it with `createSupervisor()`.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly config: ResolvedConfig;
  readonly runtime: RuntimeInfo;
  readonly ownerId: string;
  private readonly rt: RuntimeSpec;
  private readonly state: RegistryState;
  private readonly sessionStore: SessionStore;
  private readonly registry: RegistryFile;
  private readonly pool: JobPoolLike;
  private readonly apiGate: ApiGate;
  private readonly log: Logger;
  private readonly live = new Map<string, LiveJob>();
  private readonly onClose: (() => Promise<void>) | undefined;
  private readonly notifier: Notifier | undefined;
  readonly runtimeDir: string;
  private imageChecked = false;
  private closed = false;
  private cleanupTimer: NodeJS.Timeout | null = null;

  constructor(deps: SupervisorDeps) {
    super();
    this.config = deps.config;
    this.runtime = deps.runtime;
    this.ownerId = deps.ownerId;
    this.rt = toRuntimeSpec(deps.runtime);
    this.state = deps.state;
    this.apiGate = deps.apiGate;
    this.log = deps.logger ?? silentLogger();
    this.sessionStore = new SessionStore(this.state, {
      sessionsDir: this.config.sessionsDir,
      workspacesDir: this.config.workspacesDir,
      containerUid: deps.containerUid,
    });
    this.registry = new RegistryFile(join(this.config.sessionsDir, 'registry.json'), () => this.state);
    this.pool = deps.inlineJobsForBenchmark
      ? new InlineJobPool(this.config.maxConcurrentJobs)
      : new JobPool(this.config.maxConcurrentJobs);
    this.onClose = deps.onClose;
    this.notifier = deps.notifier;
    this.runtimeDir = deps.runtimeDir;
  }

  /**
   * Crash recovery, run once by createSupervisor(): unfinished jobs are re-attached to their
   * containers (output continues exactly where the file stopped), jobs that never started are
   * started, jobs whose container vanished fail, and containers nobody owns are removed.
   */
  async recover(): Promise<ReconcilePlan> {
    const plan = await planReconcile(this.rt, this.ownerId, Object.values(this.state.jobs));
    for (const job of plan.lost) {
      job.status = 'failed';
      job.endedAt = Date.now();
      job.error = serializeError(
        new ClaudePodError(
          ErrorCodes.CONTAINER_LOST,
          'The job container disappeared while no supervisor was running; its output so far is kept',
        ),
      );
      this.endSession(job);
      await this.apiGate.revoke(job.jobId).catch(() => undefined);
      this.emit('job:end', this.view(job));
    }
    if (plan.lost.length) this.reapLateContainers(plan.lost.map((j) => j.containerName));
    for (const job of plan.attach) {
      job.status = 'running';
      job.startedAt ??= job.createdAt;
      await this.apiGate.reattach(job.jobId).catch((error: unknown) => {
        this.log.warn(
          { jobId: job.jobId, err: serializeError(error) },
          'model API proxy unavailable on re-attach',
        );
      });
      this.dispatch(job, 'attach');
    }
    for (const job of plan.run) {
      try {
        this.dispatch(job, 'run', await this.apiGate.grant(job.jobId));
      } catch (error) {
        job.status = 'failed';
        job.endedAt = Date.now();
        job.error = serializeError(error);
        this.endSession(job);
      }
    }
    await this.registry.now();
    // Jobs that ended while no supervisor could tell anyone (the last day's only).
    const dayAgo = Date.now() - 86_400_000;
    for (const job of Object.values(this.state.jobs)) {
      if (terminalStates.has(job.status) && !job.notified && (job.endedAt ?? 0) > dayAgo)
        this.sendNotification(job);
    }
    if (plan.attach.length || plan.lost.length || plan.orphans.length) {
      this.log.info(
        {
          attached: plan.attach.map((j) => j.jobId),
          restarted: plan.run.map((j) => j.jobId),
          lost: plan.lost.map((j) => j.jobId),
          removedContainers: plan.orphans,
        },
        'reconciled with the container runtime',
      );
    }
    return plan;
  }

  /**
   * A host killed right after it started a runtime client can leave that client creating the
   * container after we concluded it was lost: look once more a little later and remove it.
   */
  private reapLateContainers(names: string[], afterMs = 30_000): void {
    const timer = setTimeout(() => {
      if (this.closed) return;
      void Promise.all(names.map((name) => removeContainer(this.rt, name)));
    }, afterMs);
    timer.unref();
  }

  /** Periodic idle-session cleanup (sessionIdleTimeout); also available as cleanup(). */
  startIdleCleanup(): void {
    const timeoutMs = this.config.sessionIdleTimeout * 1000;
    if (timeoutMs <= 0 || this.cleanupTimer) return;
    const every = Math.min(60_000, Math.max(1_000, Math.floor(timeoutMs / 4)));
    this.cleanupTimer = setInterval(() => {
      this.cleanup().catch((error: unknown) =>
        this.log.warn({ err: serializeError(error) }, 'idle cleanup failed'),
      );
    }, every);
    this.cleanupTimer.unref();
  }

  /** Start a job; resolves as soon as it is queued. */
  async start(input: { prompt: string; sessionId?: string }): Promise<{ jobId: string; sessionId: string }> {
    this.assertOpen();
    const prompt = input?.prompt;
    if (typeof prompt !== 'string' || prompt.trim().length === 0) {
      throw new ClaudePodError(
        ErrorCodes.INVALID_ARGUMENT,
        'prompt is required and must be a non-empty string',
        {
          details: { field: 'prompt' },
        },
      );
    }
    if (Buffer.byteLength(prompt) > MAX_PROMPT_BYTES || prompt.includes('\0')) {
      throw new ClaudePodError(
        ErrorCodes.INVALID_ARGUMENT,
        `prompt must be at most ${MAX_PROMPT_BYTES} bytes and contain no NUL characters`,
        { details: { field: 'prompt' } },
      );
    }
    if (this.pool.queueSize >= this.config.maxPendingJobs) {
      throw new ClaudePodError(
        ErrorCodes.QUEUE_FULL,
        `Too many pending jobs (${this.config.maxPendingJobs}); wait for some to finish`,
      );
    }
    await this.checkImage();
    const jobId = newJobId();
    // Before anything is recorded: no credential means NO_AUTH and no trace of the job.
    const access = await this.apiGate.grant(jobId);
    const now = Date.now();
    const session = await this.sessionStore.open(input.sessionId, now).catch(async (error: unknown) => {
      await this.apiGate.revoke(jobId);
      throw error;
    });
    const job: JobRecord = {
      jobId,
      sessionId: session.sessionId,
      prompt,
      status: 'pending',
      resumeClaudeSessionId: session.claudeSessionId,
      containerName: containerNameFor(jobId),
      outputPath: join(session.stateDir, 'jobs', jobId, 'output.jsonl'),
      createdAt: now,
      startedAt: null,
      endedAt: null,
      exitCode: null,
      error: null,
      progress: emptyProgress(),
      notified: false,
    };
    this.state.jobs[jobId] = job;
    session.activeJobId = jobId;
    session.messageCount += 1;
    session.lastActivityAt = now;
    session.jobIds.push(jobId);
    await this.registry.now();
    this.emit('job:start', this.view(job));
    this.dispatch(job, 'run', access);
    return { jobId, sessionId: session.sessionId };
  }

  /** The latest snapshot of a job: answered here, never by the worker. */
  status(jobId: string): JobStatus {
    return this.view(this.requireJob(jobId));
  }

  async output(jobId: string, opts: { offset?: number; limit?: number } = {}): Promise<OutputPage> {
    const job = this.requireJob(jobId);
    const page = await readOutput(job.outputPath, opts);
    return { jobId, status: job.status, ...page };
  }

  /** Cancel a job: a pending one leaves the queue, a running one gets SIGINT, grace, then kill. */
  async cancel(jobId: string): Promise<JobStatus> {
    const job = this.requireJob(jobId);
    if (terminalStates.has(job.status)) return this.view(job);
    const live = this.live.get(jobId);
    if (!live) return this.view(job);
    if (live.accepted) live.send({ type: 'cancel', jobId });
    else live.abort.abort();
    await live.ended;
    return this.view(job);
  }

  jobs(): JobStatus[] {
    return Object.values(this.state.jobs).map((job) => this.view(job));
  }

  sessions(): SessionInfo[] {
    const now = Date.now();
    return this.sessionStore.all().map((session) => {
      const active = session.activeJobId ? this.state.jobs[session.activeJobId] : undefined;
      return this.sessionStore.info(session, now, active?.status ?? null);
    });
  }

  /** Remove sessions idle for longer than sessionIdleTimeout (never one with a job in progress). */
  async cleanup(opts: { olderThanSeconds?: number } = {}): Promise<{ removedSessions: string[] }> {
    const limit = (opts.olderThanSeconds ?? this.config.sessionIdleTimeout) * 1000;
    const now = Date.now();
    const removed: string[] = [];
    for (const session of this.sessionStore.all()) {
      if (session.activeJobId || now - session.lastActivityAt < limit) continue;
      for (const jobId of session.jobIds) {
        const job = this.state.jobs[jobId];
        if (job) await removeContainer(this.rt, job.containerName);
        delete this.state.jobs[jobId];
      }
      await this.sessionStore.remove(session);
      removed.push(session.sessionId);
      this.emit('session:removed', session.sessionId);
    }
    if (removed.length) await this.registry.now();
    return { removedSessions: removed };
  }

  /**
   * Stop supervising. By default running jobs are detached, not killed: their containers keep
   * running and a supervisor started later on the same directories re-attaches to them.
   */
  async close(opts: { cancelRunning?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    const ending: Promise<void>[] = [];
    for (const [jobId, live] of this.live) {
      const job = this.state.jobs[jobId];
      if (!job) continue;
      if (!live.accepted) {
        // Still queued: it stays pending on disk and the next supervisor runs it.
        live.abort.abort();
      } else {
        live.send(opts.cancelRunning ? { type: 'cancel', jobId } : { type: 'detach', jobId });
      }
      ending.push(live.ended);
    }
    await Promise.all(ending);
    await this.notifier?.drain();
    await this.registry.flush();
    await this.pool.close();
    const stillRunning = Object.values(this.state.jobs).some((j) => j.status === 'running');
    await this.apiGate.close({ jobsStillRunning: stillRunning }).catch(() => undefined);
    await this.onClose?.();
  }

  // ---- internals ----

  /** Hand a job to the pool (`run` a new container, or `attach` to one a previous supervisor started). */
  dispatch(job: JobRecord, mode: 'run' | 'attach', access?: ApiAccess): void {
    const session = this.sessionStore.require(job.sessionId);
    const spec = buildJobSpec({
      config: this.config,
      runtime: this.rt,
      ownerId: this.ownerId,
      job,
      session,
      mode,
      ...(access ? { api: access } : {}),
      runtimeDir: this.runtimeDir,
    });
    let resolveEnded!: () => void;
    const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
    const abort = new AbortController();
    const handle = this.pool.submit(spec, (raw) => this.onWorkerMessage(job, raw), abort.signal);
    this.live.set(job.jobId, { abort, send: handle.send, accepted: false, ended, resolveEnded });
    handle.done.then(
      (outcome) => void this.finalize(job, outcome),
      (error: unknown) => void this.onWorkerFailure(job, error),
    );
  }

  private onWorkerMessage(job: JobRecord, raw: unknown): void {
    const parsed = workerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.error({ jobId: job.jobId }, 'invalid message from worker');
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'ready': {
        const live = this.live.get(job.jobId);
        if (live) live.accepted = true;
        break;
      }
      case 'started':
        if (job.status === 'pending') {
          job.status = 'running';
          job.startedAt ??= message.at;
          // Announced once it is on disk: a crash after this point finds the job running.
          void this.registry.now().then(() => this.emit('job:running', this.view(job)));
        }
        break;
      case 'progress':
        this.applyProgress(job, message.progress);
        this.registry.soon();
        this.emit('job:progress', this.view(job));
        break;
      case 'ended':
        void this.finalize(job, message.outcome);
        break;
      case 'error':
        this.log.error({ jobId: job.jobId, error: message.error }, 'worker error');
        break;
      case 'log':
        this.log[message.level]({ jobId: job.jobId, ...message.data }, message.msg);
        break;
      default:
        assertNever(message, 'worker message');
    }
  }

  private applyProgress(job: JobRecord, progress: JobProgress): void {
    job.progress = progress;
    const session = this.sessionStore.get(job.sessionId);
    if (session && progress.claude.sessionId) session.claudeSessionId = progress.claude.sessionId;
  }

  private async finalize(job: JobRecord, outcome: JobOutcome): Promise<void> {
    const live = this.live.get(job.jobId);
    if (!live || terminalStates.has(job.status)) return;
    this.live.delete(job.jobId);
    this.applyProgress(job, outcome.progress);
    if (outcome.status === 'detached') {
      // Left running for the next supervisor: nothing ends here.
      await this.registry.now();
      live.resolveEnded();
      return;
    }
    job.status = outcome.status;
    job.exitCode = outcome.exitCode;
    job.error = outcome.error;
    job.endedAt = outcome.endedAt;
    this.endSession(job);
    await this.apiGate.revoke(job.jobId).catch(() => undefined);
    await this.registry.now();
    live.resolveEnded();
    this.emit('job:end', this.view(job));
    this.sendNotification(job);
  }

  private sendNotification(job: JobRecord): void {
    if (!this.notifier || job.notified) return;
    void this.notifier.notify(this.view(job)).then((delivered) => {
      if (!delivered) return;
      job.notified = true;
      if (!this.closed) this.registry.soon();
    });
  }

  private async onWorkerFailure(job: JobRecord, error: unknown): Promise<void> {
    const live = this.live.get(job.jobId);
    if (!live || terminalStates.has(job.status)) return;
    const aborted = live.abort.signal.aborted;
    if (aborted && this.closed && job.status === 'pending') {
      // Closing with the job still queued: it stays pending for the next supervisor.
      this.live.delete(job.jobId);
      live.resolveEnded();
      return;
    }
    const failure: SerializedError = aborted
      ? { code: ErrorCodes.CANCELLED, message: 'Job cancelled' }
      : serializeError(
          new ClaudePodError(
            ErrorCodes.WORKER_CRASHED,
            `The job's worker thread failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
    await removeContainer(this.rt, job.containerName);
    await this.finalize(job, {
      status: aborted ? 'cancelled' : 'failed',
      exitCode: null,
      error: failure,
      progress: job.progress,
      endedAt: Date.now(),
    });
  }

  private endSession(job: JobRecord): void {
    const session = this.sessionStore.get(job.sessionId);
    if (!session) return;
    if (session.activeJobId === job.jobId) session.activeJobId = null;
    session.lastActivityAt = Date.now();
  }

  private async checkImage(): Promise<void> {
    if (this.imageChecked) return;
    if (!(await imageExists(this.rt, this.config.image))) throw imageNotFound(this.config.image);
    this.imageChecked = true;
  }

  private requireJob(jobId: string): JobRecord {
    validateJobId(jobId);
    const job = Object.hasOwn(this.state.jobs, jobId) ? this.state.jobs[jobId] : undefined;
    if (!job) throw jobNotFound(jobId);
    return job;
  }

  private view(job: JobRecord): JobStatus {
    return jobStatusView(job, Date.now());
  }

  private assertOpen(): void {
    if (this.closed) throw new ClaudePodError(ErrorCodes.SUPERVISOR_CLOSED, 'The supervisor is closed');
  }

  /** For reconcile: sessions and jobs as loaded from disk. */
  get registryState(): RegistryState {
    return this.state;
  }

  sessionFor(job: JobRecord): SessionRecord | undefined {
    return this.sessionStore.get(job.sessionId);
  }
}

export function emptyProgress(): JobProgress {
  return {
    outputSize: 0,
    tailOutput: '',
    firstOutputAt: null,
    lastOutputAt: null,
    lines: 0,
    events: 0,
    truncated: false,
    activityState: 'idle',
    metrics: null,
    claude: emptyClaudeReport(),
  };
}
