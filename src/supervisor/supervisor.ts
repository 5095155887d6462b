import { EventEmitter } from 'eventemitter3';
import type { RuntimeInfo } from '../runtime/runtime-info.js';
import { toRuntimeSpec } from '../runtime/runtime-info.js';
import { LABEL_OWNER } from '../runtime/labels.js';
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
import { EngineHealth } from './engine-health.js';
import type { EngineEntry } from './engine-set.js';
import {
  applyChanges,
  engineOf,
  transition,
  type Event,
  type Follower,
  type MachineConfig,
  type MachineState,
} from './job-machine.js';
import { jobStatusView, type JobStatus } from './job-view.js';
import type { Notifier } from './notifier.js';
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
  /** How often each engine with unfinished jobs (or one that failed a call) is probed. */
  engineProbeMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  launchGraceMs: 3_000,
  recheckMinMs: 2_000,
  recoveryBackoffMs: 1_000,
  writeRetryDelaysMs: WRITE_RETRY_DELAYS_MS,
  engineProbeMs: 5_000,
};

export interface SupervisorDeps {
  config: ResolvedConfig;
  /** The first engine's runtime (what `runtime` means without `engines`). */
  runtime: RuntimeInfo;
  /** Every engine jobs may run on, in config order (one, `local`, without `engines`). */
  engines: EngineEntry[];
  ownerId: string;
  paths: StatePaths;
  state: RegistryState;
  apiGate: ApiGate;
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
  readonly engines: ReadonlyMap<string, EngineEntry>;
  private readonly machineConfig: MachineConfig;
  private readonly downEngines = new Set<string>();
  private readonly health: EngineHealth;
  private readonly recoveryBackoff = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly endWaiters = new Map<string, Set<() => void>>();
  private readonly idleWaiters = new Set<() => void>();
  readonly timing: SupervisorTiming;
  /** The control API this owner serves (set by createSupervisor). */
  control: ControlServer | null = null;
  private readonly imageChecked = new Set<string>();
  private readonly preflight: (() => void) | undefined;

  constructor(deps: SupervisorDeps) {
    super();
    this.config = deps.config;
    this.runtime = deps.runtime;
    this.ownerId = deps.ownerId;
    this.paths = deps.paths;
    this.runtimeDir = deps.runtimeDir;
    this.rt = deps.engines[0]?.rt ?? toRuntimeSpec(deps.runtime);
    this.engines = new Map(deps.engines.map((e) => [e.name, e]));
    this.machineConfig = {
      maxConcurrentJobs: deps.engines.reduce((n, e) => n + e.maxConcurrentJobs, 0),
      maxPendingJobs: deps.config.maxPendingJobs,
      ...(deps.config.engines
        ? { engines: deps.engines.map((e) => ({ name: e.name, maxConcurrentJobs: e.maxConcurrentJobs })) }
        : {}),
    };
    this.log = deps.logger ?? silentLogger();
    this.notifier = deps.notifier;
    this.onClose = deps.onClose;
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.preflight = deps.preflight;
    for (const s of Object.values(deps.state.sessions)) this.sessionsById.set(s.sessionId, s);
    for (const j of Object.values(deps.state.jobs)) this.jobsById.set(j.jobId, j);
    this.registry = new RegistryFile(
      deps.paths.registry,
      () => this.snapshot(),
      deps.registryWriter,
      (error) => this.effects.onBackgroundWriteFailure(error),
      this.timing.writeRetryDelaysMs,
      (job) => deps.paths.jobRecord(job.sessionId, job.jobId),
    );
    this.effects = new EffectRunner({
      supervisor: this,
      config: deps.config,
      engines: this.engines,
      apiGate: deps.apiGate,
      registry: this.registry,
      notifier: deps.notifier,
      logger: this.log,
      paths: deps.paths,
      containerUid: deps.containerUid,
      runtimeDir: deps.runtimeDir,
      ownerId: deps.ownerId,
    });
    this.health = new EngineHealth({
      engines: deps.engines.map((e) => e.name),
      probe: (name) => this.probe(name),
      unreachableAfterMs: deps.config.engineUnreachableSeconds * 1000,
      everyMs: this.timing.engineProbeMs,
      // Without `engines`, the one local engine is probed only after a call to it failed.
      watched: (name) => deps.config.engines !== undefined && this.hasLiveJobs(name),
      later: (fn, ms) => this.later(fn, ms),
      now: () => Date.now(),
      onDown: (name, error) => {
        this.log.warn({ engine: name, err: error }, 'engine unreachable: failing its jobs');
        this.send({ type: 'engineUnreachable', engine: name, error, now: Date.now() });
      },
      onUp: (name) => {
        this.log.info({ engine: name }, 'engine reachable again');
        this.send({ type: 'engineReachable', engine: name });
        void this.recover();
      },
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
      downEngines: this.downEngines,
    };
  }

  /**
   * Applies one event: the transition runs synchronously on the current state, its changes are
   * applied at once (so the next event sees them), and its effects are queued for the runner.
   * Resolves when the effects that must complete in order (persist, emit, post) have run.
   */
  send(event: Event): { rejected: ClaudePodError | null; settled: Promise<void> } {
    const step = transition(this.machine, event, this.machineConfig);
    if (step.rejected) return { rejected: step.rejected, settled: Promise.resolve() };
    applyChanges(
      { jobs: this.jobsById, sessions: this.sessionsById, followers: this.followers },
      step.changes,
    );
    if (step.changes.closing) this.closing = true;
    if (step.changes.engineDown) {
      if (step.changes.engineDown.down) this.downEngines.add(step.changes.engineDown.engine);
      else this.downEngines.delete(step.changes.engineDown.engine);
    }
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
    this.health.stop();
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
    this.failJobsOfUnknownEngines();
    const results = await Promise.all(
      [...this.engines.values()].map((entry) => this.recoverEngine(entry, only)),
    );
    return results.every(Boolean);
  }

  private async recoverEngine(entry: EngineEntry, only?: ReadonlySet<string>): Promise<boolean> {
    const wanted = (job: JobRecord) => engineOf(job) === entry.name && (!only || only.has(job.jobId));
    if (only && ![...this.jobsById.values()].some(wanted)) return true;
    const ok = await reconcileOnce(
      {
        engine: entry.engine,
        ownerId: this.ownerId,
        paths: this.paths,
        logger: this.log,
        unfollowed: () =>
          [...this.jobsById.values()].filter(
            (j) => j.phase !== 'ended' && !this.followers.has(j.jobId) && engineOf(j) === entry.name,
          ),
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
      this.recoveryBackoff.delete(entry.name);
    } else {
      // The engine did not answer: it is probed from now on, and declared unreachable (its jobs
      // failed) only once every probe has failed for engineUnreachableSeconds.
      this.health.suspect(entry.name);
      const delay = this.recoveryBackoff.get(entry.name) ?? this.timing.recoveryBackoffMs;
      this.later(() => void this.recoverEngine(entry), delay);
      this.recoveryBackoff.set(entry.name, Math.min(delay * 2, 30_000));
    }
    return ok;
  }

  /** Jobs recorded on an engine the config no longer names: nothing can reach their containers. */
  private failJobsOfUnknownEngines(): void {
    const unknown = new Set<string>();
    for (const job of this.jobsById.values()) {
      if (job.phase !== 'ended' && !this.engines.has(engineOf(job))) unknown.add(engineOf(job));
    }
    for (const engine of unknown) {
      this.send({
        type: 'engineUnreachable',
        engine,
        error: { code: ErrorCodes.ENGINE_UNREACHABLE, message: `engine "${engine}" is not configured` },
        now: Date.now(),
      });
    }
  }

  /** One probe: a listing of our containers; it throws when the engine gives no answer. */
  private async probe(name: string): Promise<void> {
    const entry = this.engines.get(name);
    if (!entry) return;
    await entry.engine.list({ [LABEL_OWNER]: this.ownerId }, { timeoutMs: 10_000 });
  }

  private hasLiveJobs(engine: string): boolean {
    for (const job of this.jobsById.values()) {
      if (job.phase !== 'ended' && engineOf(job) === engine) return true;
    }
    return false;
  }

  /** Probes every engine with unfinished jobs (createSupervisor starts it after recovery). */
  startEngineProbes(): void {
    this.health.start();
  }

  /** A call to this engine got no answer: probe it (it may be going away). */
  suspectEngine(name: string): void {
    this.health.suspect(name);
  }

  /** Test hook: the engine health as the supervisor sees it. */
  engineDown(name: string): boolean {
    return this.downEngines.has(name);
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

  /**
   * Each reachable engine is asked once whether it has the image; one that says no refuses the
   * start (IMAGE_NOT_FOUND), one that does not answer is not held against the others.
   */
  private async checkImage(): Promise<void> {
    for (const entry of this.engines.values()) {
      if (this.imageChecked.has(entry.name) || this.downEngines.has(entry.name)) continue;
      let present: boolean;
      try {
        present = await entry.engine.imageExists(this.config.image);
      } catch (error) {
        if (this.engines.size === 1) throw error;
        this.health.suspect(entry.name);
        continue;
      }
      if (!present) throw imageNotFound(this.config.image);
      this.imageChecked.add(entry.name);
    }
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
