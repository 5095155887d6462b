import { EventEmitter } from 'eventemitter3';
import type { ContainerEngine } from '../runtime/engine.js';
import type { RuntimeInfo } from '../runtime/runtime-info.js';
import { toRuntimeSpec } from '../runtime/runtime-info.js';
import type { ResolvedConfig } from '../shared/config.js';
import { ClaudePodError, ErrorCodes, imageNotFound, jobNotFound, serializeError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import type { RuntimeSpec } from '../shared/protocol.js';
import { readOutput } from '../workers/output-reader.js';
import type { ApiGate } from './api-gate.js';
import type {
  CleanupResult,
  OutputPage,
  StartInput,
  StartResult,
  SupervisorApi,
  SupervisorEvents,
  SupervisorInfo,
  WaitOptions,
} from './api.js';
import { EffectRunner } from './effect-runner.js';
import { applyChanges, transition, type Event, type Follower, type MachineState } from './job-machine.js';
import { jobStatusView, type JobStatus } from './job-view.js';
import type { Notifier } from './notifier.js';
import type { JobPoolLike } from './pool.js';
import type { JobRecord, RegistryState, SessionRecord } from './records.js';
import { RegistryFile, WRITE_RETRY_DELAYS_MS, type RegistryWriter } from './registry-file.js';
import { reconcileOnce } from './recovery.js';
import { newJobId, newSessionId, validateJobId, validateSessionId } from './session-ids.js';
import { sessionInfoView, type SessionInfo } from './session-view.js';
import type { StatePaths } from './state-paths.js';
import { packageVersion } from '../shared/version.js';
import type { ControlServer } from './control/server.js';

export const MAX_PROMPT_BYTES = 100 * 1024;
/** Jobs that ended longer ago than this are not notified by a supervisor that starts later. */
export const NOTIFY_WINDOW_MS = 15 * 60_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const DEFAULT_CANCEL_TIMEOUT_MS = 60_000;

export type { SupervisorEvents, OutputPage };

/** The supervisor's own waits; shortened only by tests (the model-based test runs thousands of lives). */
export interface SupervisorTiming {
  /** How long a `launching` job's absent container may still be on its way. */
  launchGraceMs: number;
  /** First delay before looking again at a job whose fate is unknown (doubles, up to 60 s). */
  recheckMinMs: number;
  /** First delay before retrying a recovery whose listing failed (doubles, up to 30 s). */
  recoveryBackoffMs: number;
  /** Waits between the attempts of a registry write before it counts as failed. */
  writeRetryDelaysMs: readonly number[];
}

export const DEFAULT_TIMING: SupervisorTiming = {
  launchGraceMs: 3_000,
  recheckMinMs: 2_000,
  recoveryBackoffMs: 1_000,
  writeRetryDelaysMs: WRITE_RETRY_DELAYS_MS,
};

export interface SupervisorDeps {
  config: ResolvedConfig;
  runtime: RuntimeInfo;
  engine: ContainerEngine;
  ownerId: string;
  paths: StatePaths;
  state: RegistryState;
  apiGate: ApiGate;
  pool: JobPoolLike;
  logger?: Logger;
  containerUid: number | null;
  /** The staged container/runtime folder, bind-mounted at /opt/claude-pod. */
  runtimeDir: string;
  notifier?: Notifier;
  registryWriter?: RegistryWriter;
  timing?: Partial<SupervisorTiming>;
  /** Checked before every start(), like the image: throws to refuse the job (e.g. LIMITS_NOT_ENFORCED). */
  preflight?: () => void;
  /** Called once by close(), after everything else (closes the control server, releases the lock). */
  onClose?: () => Promise<void>;
}

/**
 * The owner of a state directory: the main-thread actor that holds the jobs and sessions. Every
 * change of a job goes through `transition()` (job-machine.ts), one event at a time; this class
 * only turns calls and worker messages into events and has the EffectRunner carry out what the
 * transitions return. Construct it with `createSupervisor()`.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> implements SupervisorApi {
  readonly config: ResolvedConfig;
  readonly runtime: RuntimeInfo;
  readonly ownerId: string;
  readonly paths: StatePaths;
  readonly runtimeDir: string;
  readonly rt: RuntimeSpec;
  private readonly jobsById = new Map<string, JobRecord>();
  private readonly sessionsById = new Map<string, SessionRecord>();
  private readonly followers = new Map<string, Follower>();
  private closing = false;
  private closed: Promise<void> | null = null;
  private readonly log: Logger;
  private readonly registry: RegistryFile;
  private readonly effects: EffectRunner;
  private readonly notifier: Notifier | undefined;
  private readonly onClose: (() => Promise<void>) | undefined;
  private readonly engine: ContainerEngine;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly endWaiters = new Map<string, Set<() => void>>();
  private readonly idleWaiters = new Set<() => void>();
  readonly timing: SupervisorTiming;
  private recoveryBackoffMs: number;
  /** The control API this owner serves (set by createSupervisor). */
  control: ControlServer | null = null;
  private imageChecked = false;
  private readonly preflight: (() => void) | undefined;

  constructor(deps: SupervisorDeps) {
    super();
    this.config = deps.config;
    this.runtime = deps.runtime;
    this.ownerId = deps.ownerId;
    this.paths = deps.paths;
    this.runtimeDir = deps.runtimeDir;
    this.rt = toRuntimeSpec(deps.runtime);
    this.engine = deps.engine;
    this.log = deps.logger ?? silentLogger();
    this.notifier = deps.notifier;
    this.onClose = deps.onClose;
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.recoveryBackoffMs = this.timing.recoveryBackoffMs;
    this.preflight = deps.preflight;
    for (const s of Object.values(deps.state.sessions)) this.sessionsById.set(s.sessionId, s);
    for (const j of Object.values(deps.state.jobs)) this.jobsById.set(j.jobId, j);
    this.registry = new RegistryFile(
      deps.paths.registry,
      () => this.snapshot(),
      deps.registryWriter,
      (error) => this.effects.onBackgroundWriteFailure(error),
      this.timing.writeRetryDelaysMs,
    );
    this.effects = new EffectRunner({
      supervisor: this,
      config: deps.config,
      engine: deps.engine,
      pool: deps.pool,
      apiGate: deps.apiGate,
      registry: this.registry,
      notifier: deps.notifier,
      logger: this.log,
      paths: deps.paths,
      containerUid: deps.containerUid,
      runtimeDir: deps.runtimeDir,
      ownerId: deps.ownerId,
      rt: this.rt,
    });
  }

  // ---- the mailbox ----

  /** The current state, read-only, as transitions see it. */
  get machine(): MachineState {
    return {
      jobs: this.jobsById,
      sessions: this.sessionsById,
      followers: this.followers,
      closing: this.closing,
    };
  }

  /**
   * Applies one event: the transition runs synchronously on the current state, its changes are
   * applied at once (so the next event sees them), and its effects are queued for the runner.
   * Resolves when the effects that must complete in order (persist, emit, post) have run.
   */
  send(event: Event): { rejected: ClaudePodError | null; settled: Promise<void> } {
    const step = transition(this.machine, event, this.config);
    if (step.rejected) return { rejected: step.rejected, settled: Promise.resolve() };
    applyChanges(
      { jobs: this.jobsById, sessions: this.sessionsById, followers: this.followers },
      step.changes,
    );
    if (step.changes.closing) this.closing = true;
    const settled = this.effects.run(step.effects, event);
    for (const [jobId, job] of step.changes.jobs) {
      if (job.phase === 'ended') this.wake(this.endWaiters.get(jobId));
    }
    if (this.followers.size === 0) this.wake(this.idleWaiters);
    return { rejected: null, settled };
  }

  private wake(waiters: Set<() => void> | undefined): void {
    if (!waiters) return;
    for (const w of [...waiters]) w();
  }

  // ---- the public API ----

  /** Start a job; resolves once it is recorded on disk (it then waits for a worker). */
  async start(input: StartInput): Promise<StartResult> {
    this.assertOpen();
    const prompt = validatePrompt(input?.prompt);
    const sessionId = input?.sessionId === undefined ? undefined : validateSessionId(input.sessionId);
    if (sessionId !== undefined && !this.sessionsById.has(sessionId)) {
      throw new ClaudePodError(
        ErrorCodes.SESSION_NOT_FOUND,
        `Session not found: ${sessionId}. Omit session_id to start a new session.`,
        { details: { sessionId } },
      );
    }
    this.preflight?.();
    await this.checkImage();
    const jobId = newJobId();
    // Before anything is recorded: no credential means NO_AUTH and no trace of the job.
    await this.effects.grantAhead(jobId);
    const event: Event = {
      type: 'start',
      jobId,
      prompt,
      ...(sessionId === undefined ? {} : { sessionId }),
      newSessionId: newSessionId(),
      now: Date.now(),
    };
    const { rejected, settled } = this.send(event);
    if (rejected) {
      await this.effects.dropGrant(jobId);
      throw rejected;
    }
    await settled;
    const job = this.jobsById.get(jobId);
    if (job?.error?.code === ErrorCodes.STATE_WRITE_FAILED) {
      throw new ClaudePodError(ErrorCodes.STATE_WRITE_FAILED, job.error.message, { details: { jobId } });
    }
    return { jobId, sessionId: job?.sessionId ?? event.newSessionId };
  }

  /** The latest snapshot of a job: answered here, never by the worker. */
  status(jobId: string): JobStatus {
    return jobStatusView(this.requireJob(jobId), Date.now());
  }

  jobs(): JobStatus[] {
    const now = Date.now();
    return [...this.jobsById.values()].map((job) => jobStatusView(job, now));
  }

  async output(jobId: string, opts: { offset?: number; limit?: number } = {}): Promise<OutputPage> {
    const job = this.requireJob(jobId);
    const page = await readOutput(this.paths.outputFile(job.sessionId, jobId), opts);
    return { jobId, status: job.status, ...page };
  }

  /** Cancel: a queued job leaves the queue, a running one gets SIGINT, grace, then kill. */
  async cancel(jobId: string, opts: WaitOptions = {}): Promise<JobStatus> {
    const job = this.requireJob(jobId);
    if (job.phase === 'ended') return this.status(jobId);
    this.send({ type: 'cancel', jobId, now: Date.now() });
    await this.until(
      () => this.jobsById.get(jobId)?.phase !== 'ended',
      this.endWaitersOf(jobId),
      opts.timeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS + this.config.cancelGraceSeconds * 1000,
      opts.signal,
    );
    return this.status(jobId);
  }

  sessions(): SessionInfo[] {
    const now = Date.now();
    return [...this.sessionsById.values()].map((s) => this.sessionView(s, now));
  }

  sessionView(session: SessionRecord, now = Date.now()): SessionInfo {
    const active = session.activeJobId ? this.jobsById.get(session.activeJobId) : undefined;
    return sessionInfoView(session, this.paths.workspace(session.sessionId), active?.status ?? null, now);
  }

  /** Remove sessions idle for longer than sessionIdleTimeout (0 = never; never one with a job in progress). */
  async cleanup(opts: { olderThanSeconds?: number } = {}): Promise<CleanupResult> {
    this.assertOpen();
    const seconds = opts.olderThanSeconds ?? this.config.sessionIdleTimeout;
    if (opts.olderThanSeconds !== undefined && (!Number.isFinite(seconds) || seconds < 0)) {
      throw new ClaudePodError(
        ErrorCodes.INVALID_ARGUMENT,
        'olderThanSeconds must be a non-negative number',
        {
          details: { field: 'olderThanSeconds' },
        },
      );
    }
    const never = opts.olderThanSeconds === undefined && this.config.sessionIdleTimeout === 0;
    const before = new Set(this.sessionsById.keys());
    const { settled } = this.send({
      type: 'cleanup',
      olderThanMs: never ? null : seconds * 1000,
      now: Date.now(),
    });
    const removedIds = [...before].filter((id) => !this.sessionsById.has(id));
    await settled;
    const removed = await Promise.all(removedIds.map((id) => this.effects.sessionRemoval(id)));
    return {
      removedSessions: removedIds,
      removed,
      bytesFreed: removed.reduce((sum, r) => sum + r.bytesFreed, 0),
    };
  }

  info(): SupervisorInfo {
    return {
      role: 'owner',
      ownerPid: process.pid,
      sessionsDir: this.config.sessionsDir,
      version: packageVersion(),
      notifications: this.notifier?.describe() ?? { enabled: false, url: null },
    };
  }

  /**
   * Stop supervising. By default running jobs are detached, not killed: their containers keep
   * running and a supervisor started later on the same directories re-attaches to them. Always
   * resolves: after `timeoutMs` (or the signal), workers still busy are stopped with the pool.
   */
  close(opts: { cancelRunning?: boolean } & WaitOptions = {}): Promise<void> {
    this.closed ??= this.doClose(opts);
    return this.closed;
  }

  private async doClose(opts: { cancelRunning?: boolean } & WaitOptions): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.send({ type: 'close', cancelRunning: opts.cancelRunning === true, now: Date.now() });
    const timeoutMs =
      opts.timeoutMs ??
      DEFAULT_CLOSE_TIMEOUT_MS + (opts.cancelRunning ? this.config.cancelGraceSeconds * 1000 : 0);
    const settled = await this.until(() => this.followers.size > 0, this.idleWaiters, timeoutMs, opts.signal);
    if (!settled)
      this.log.warn({ followers: [...this.followers.keys()] }, 'close: workers still busy; stopping them');
    await this.effects.close();
    await this.notifier?.drain();
    await this.registry.flush();
    const stillRunning = [...this.jobsById.values()].some(
      (j) => j.phase === 'launching' || j.phase === 'running',
    );
    await this.effects.closeGate(stillRunning);
    await this.onClose?.().catch((error: unknown) => this.log.warn({ err: serializeError(error) }, 'close'));
  }

  // ---- recovery ----

  /**
   * Crash recovery, run by createSupervisor() and again whenever a job's fate is unknown: jobs
   * nobody follows are matched with the runtime's containers (re-attached, re-run if they never
   * started, or failed as lost only when the runtime says the container is gone).
   */
  async recover(only?: ReadonlySet<string>): Promise<boolean> {
    if (this.closing) return true;
    const ok = await reconcileOnce(
      {
        engine: this.engine,
        ownerId: this.ownerId,
        paths: this.paths,
        logger: this.log,
        unfollowed: () =>
          [...this.jobsById.values()].filter((j) => j.phase !== 'ended' && !this.followers.has(j.jobId)),
        isLive: (jobId) => {
          const job = this.jobsById.get(jobId);
          return job !== undefined && job.phase !== 'ended';
        },
        send: (event) => void this.send(event),
        now: () => Date.now(),
        sleep: (ms) => new Promise((resolve) => this.later(resolve, ms)),
        launchGraceMs: this.timing.launchGraceMs,
      },
      only,
    );
    if (ok) {
      this.recoveryBackoffMs = this.timing.recoveryBackoffMs;
    } else {
      this.later(() => void this.recover(), this.recoveryBackoffMs);
      this.recoveryBackoffMs = Math.min(this.recoveryBackoffMs * 2, 30_000);
    }
    return ok;
  }

  /** Notifications that a previous supervisor could not deliver (recent ones only). */
  resendNotifications(now = Date.now()): void {
    for (const job of this.jobsById.values()) {
      if (job.phase !== 'ended' || job.notified) continue;
      if ((job.endedAt ?? 0) >= now - NOTIFY_WINDOW_MS) this.effects.notify(job.jobId);
      else this.send({ type: 'notified', jobId: job.jobId });
    }
  }

  /** Periodic idle-session cleanup (sessionIdleTimeout); also available as cleanup(). */
  startIdleCleanup(): void {
    const timeoutMs = this.config.sessionIdleTimeout * 1000;
    if (timeoutMs <= 0) return;
    const every = Math.min(60_000, Math.max(1_000, Math.floor(timeoutMs / 4)));
    const tick = () => {
      if (this.closing) return;
      this.cleanup().catch((error: unknown) =>
        this.log.warn({ err: serializeError(error) }, 'idle cleanup failed'),
      );
      this.later(tick, every);
    };
    this.later(tick, every);
  }

  /** Runs `fn` after `ms` unless the supervisor closes first. */
  later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closing) fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  // ---- for the effect runner and the control server ----

  job(jobId: string): JobRecord | undefined {
    return this.jobsById.get(jobId);
  }

  session(sessionId: string): SessionRecord | undefined {
    return this.sessionsById.get(sessionId);
  }

  follower(jobId: string): Follower | undefined {
    return this.followers.get(jobId);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Writes the registry now (tests compare it with `snapshot()`). */
  persistNow(): Promise<void> {
    return this.registry.now();
  }

  /** Jobs and sessions as they are persisted. */
  snapshot(): RegistryState {
    return {
      version: 2,
      sessions: Object.fromEntries(this.sessionsById),
      jobs: Object.fromEntries(this.jobsById),
    };
  }

  // ---- internals ----

  private endWaitersOf(jobId: string): Set<() => void> {
    let set = this.endWaiters.get(jobId);
    if (!set) this.endWaiters.set(jobId, (set = new Set()));
    return set;
  }

  /** Waits while `pending()` holds, woken through `waiters`; false when the bound came first. */
  private until(
    pending: () => boolean,
    waiters: Set<() => void>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    if (!pending()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        waiters.delete(check);
        signal?.removeEventListener('abort', abort);
        resolve(ok);
      };
      const check = () => {
        if (!pending()) finish(true);
      };
      const abort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      timer.unref();
      waiters.add(check);
      signal?.addEventListener('abort', abort, { once: true });
      if (signal?.aborted) finish(false);
    });
  }

  private async checkImage(): Promise<void> {
    if (this.imageChecked) return;
    if (!(await this.engine.imageExists(this.config.image))) throw imageNotFound(this.config.image);
    this.imageChecked = true;
  }

  private requireJob(jobId: string): JobRecord {
    validateJobId(jobId);
    const job = this.jobsById.get(jobId);
    if (!job) throw jobNotFound(jobId);
    return job;
  }

  private assertOpen(): void {
    if (this.closing) throw new ClaudePodError(ErrorCodes.SUPERVISOR_CLOSED, 'The supervisor is closed');
  }
}

function validatePrompt(prompt: unknown): string {
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
  return prompt;
}
