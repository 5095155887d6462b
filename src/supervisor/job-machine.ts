/**
 * The life of every job and session, as one pure function: `transition(state, event) → step`.
 * No I/O, no clock, no await: the step says what changes and which effects to carry out
 * (persist, emit, hand to a worker, post to it, remove a container, notify …). The supervisor
 * applies events one at a time and only executes the effects returned here; what an effect
 * finds out (a container removed, a worker gone, a write failed) comes back as another event.
 * No other code writes a job's `phase` or `status`.
 *
 *   queued ──workerReady──▶ launching ──containerStarted──▶ running ──workerEnded──▶ ended
 *     ▲                        │  (absent after a crash,         │
 *     └──── rerun ◀────────────┘   never seen to start)          └─ containerAbsent ─▶ ended (CONTAINER_LOST)
 *
 * Besides the persisted phase, each job followed by a worker has a `follower` (in memory only):
 * `queued` in the pool, `ready` (taken, waiting for `launch`), `active`. A follower asked to stop
 * carries the intent (`detach` on close, `cancel`).
 */
import { ClaudePodError, ErrorCodes, serializeError, type SerializedError } from '../shared/errors.js';
import {
  emptyClaudeReport,
  type JobOutcome,
  type JobProgress,
  type SupervisorMessage,
} from '../shared/protocol.js';
import type { ContainerStatus } from '../runtime/engine.js';
import { DEFAULT_ENGINE } from '../shared/engine-config.js';
import { placeJob, type EngineSlot } from './placement.js';
import type { JobRecord, SessionRecord } from './records.js';

export type FollowerState = 'queued' | 'ready' | 'active';

export interface Follower {
  state: FollowerState;
  mode: 'run' | 'attach';
  stopping: 'detach' | 'cancel' | null;
}

export interface MachineState {
  readonly jobs: ReadonlyMap<string, JobRecord>;
  readonly sessions: ReadonlyMap<string, SessionRecord>;
  readonly followers: ReadonlyMap<string, Follower>;
  readonly closing: boolean;
  /** Engines declared unreachable (every probe failed for engineUnreachableSeconds); absent: none. */
  readonly downEngines?: ReadonlySet<string>;
}

export interface MachineConfig {
  /** Jobs running at once, over all engines. */
  maxConcurrentJobs: number;
  /** Jobs that may wait for a slot; 0 = none (a start with every slot busy is QUEUE_FULL). */
  maxPendingJobs: number;
  /** The configured engines and their capacities, in config order; absent: one, `local`. */
  engines?: readonly EngineSlot[];
}

/** The engine a job runs on (records from before engines existed: the default one). */
export const engineOf = (job: JobRecord): string => job.engine ?? DEFAULT_ENGINE;

export type Event =
  | {
      type: 'start';
      jobId: string;
      prompt: string;
      /** Continue this session (it must exist); absent: a new session named `newSessionId`. */
      sessionId?: string;
      newSessionId: string;
      now: number;
    }
  | { type: 'workerReady'; jobId: string }
  | { type: 'workerLaunched'; jobId: string; at: number }
  | { type: 'containerStarted'; jobId: string; at: number }
  | { type: 'progress'; jobId: string; progress: JobProgress }
  | { type: 'workerEnded'; jobId: string; outcome: JobOutcome; now: number }
  /** The worker's task failed (its thread died, or it was aborted while queued). */
  | { type: 'workerFailed'; jobId: string; error: SerializedError; now: number }
  | { type: 'cancel'; jobId: string; now: number }
  | { type: 'close'; cancelRunning: boolean; now: number }
  | { type: 'containerRemoved'; jobId: string; purpose: RemovePurpose; now: number }
  | { type: 'removeFailed'; jobId: string; purpose: RemovePurpose; error: SerializedError }
  /** Recovery: the runtime listed this job's container. */
  | { type: 'containerFound'; jobId: string; status: ContainerStatus; now: number }
  /** Recovery: the runtime positively reports no container for this job. */
  | { type: 'containerAbsent'; jobId: string; hadOutput: boolean; now: number }
  /** Handing the job to a worker failed before anything ran (no credential, no directory …). */
  | { type: 'dispatchFailed'; jobId: string; error: SerializedError; now: number }
  /** The registry could not be written (after retries): the jobs concerned fail. */
  | { type: 'persistFailed'; jobIds: string[]; error: SerializedError; now: number }
  | { type: 'notified'; jobId: string }
  /** Remove sessions idle for at least this long; null = never. */
  | { type: 'cleanup'; olderThanMs: number | null; now: number }
  /**
   * Every probe of this engine failed for the configured time (or it is no longer configured):
   * its jobs that never launched move to another engine, the others fail ENGINE_UNREACHABLE.
   */
  | { type: 'engineUnreachable'; engine: string; error: SerializedError; now: number }
  /** A probe of an engine declared unreachable was answered again. */
  | { type: 'engineReachable'; engine: string };

export type RemovePurpose = 'cancel' | 'rerun' | 'crash';

export type Effect =
  | { type: 'persist'; urgent: boolean; jobIds: string[]; bestEffort?: boolean }
  | { type: 'emit'; event: 'job:start' | 'job:running' | 'job:progress' | 'job:end'; jobId: string }
  | { type: 'emitSessionRemoved'; sessionId: string }
  | { type: 'dispatch'; jobId: string; mode: 'run' | 'attach' }
  | { type: 'post'; jobId: string; message: SupervisorMessage }
  | { type: 'abortQueued'; jobId: string }
  /** Drop the job's queued task without a word back (a `dispatch` for it follows). */
  | { type: 'requeue'; jobId: string }
  | { type: 'removeContainer'; jobId: string; purpose: RemovePurpose }
  | { type: 'revoke'; jobId: string }
  | { type: 'closeOutput'; jobId: string }
  | { type: 'notify'; jobId: string }
  | { type: 'recheck'; jobId: string }
  | { type: 'removeSessionFiles'; sessionId: string; deleteWorkspace: boolean };

export interface Changes {
  jobs: Map<string, JobRecord>;
  sessions: Map<string, SessionRecord>;
  /** null: the follower is gone. */
  followers: Map<string, Follower | null>;
  removedJobs: Set<string>;
  removedSessions: Set<string>;
  closing?: boolean;
  /** An engine's reachability changed (true: declared unreachable). */
  engineDown?: { engine: string; down: boolean };
}

export interface Step {
  rejected: ClaudePodError | null;
  changes: Changes;
  effects: Effect[];
}

/** Sessions and jobs as a reader of the registry expects them right after this step. */
class Tx {
  readonly changes: Changes = {
    jobs: new Map(),
    sessions: new Map(),
    followers: new Map(),
    removedJobs: new Set(),
    removedSessions: new Set(),
  };
  readonly effects: Effect[] = [];

  constructor(readonly state: MachineState) {}

  job(id: string): JobRecord | undefined {
    if (this.changes.removedJobs.has(id)) return undefined;
    return this.changes.jobs.get(id) ?? this.state.jobs.get(id);
  }
  session(id: string): SessionRecord | undefined {
    if (this.changes.removedSessions.has(id)) return undefined;
    return this.changes.sessions.get(id) ?? this.state.sessions.get(id);
  }
  follower(id: string): Follower | undefined {
    const changed = this.changes.followers.get(id);
    if (changed === null) return undefined;
    return changed ?? this.state.followers.get(id);
  }
  putJob(job: JobRecord): void {
    this.changes.jobs.set(job.jobId, job);
  }
  putSession(session: SessionRecord): void {
    this.changes.sessions.set(session.sessionId, session);
  }
  setFollower(id: string, follower: Follower | null): void {
    this.changes.followers.set(id, follower);
  }
  effect(...effects: Effect[]): void {
    this.effects.push(...effects);
  }
  done(): Step {
    return { rejected: null, changes: this.changes, effects: this.effects };
  }
}

const rejected = (error: ClaudePodError): Step => ({
  rejected: error,
  changes: {
    jobs: new Map(),
    sessions: new Map(),
    followers: new Map(),
    removedJobs: new Set(),
    removedSessions: new Set(),
  },
  effects: [],
});

export const isEnded = (job: JobRecord): boolean => job.phase === 'ended';

export function transition(state: MachineState, event: Event, config: MachineConfig): Step {
  const tx = new Tx(state);
  if (event.type === 'start') return start(tx, event, config);
  if (event.type === 'close') return close(tx, event);
  if (event.type === 'cleanup') return cleanup(tx, event);
  if (event.type === 'engineUnreachable') return engineUnreachable(tx, event, config);
  if (event.type === 'engineReachable') {
    if (tx.state.downEngines?.has(event.engine))
      tx.changes.engineDown = { engine: event.engine, down: false };
    return tx.done();
  }
  if (event.type === 'persistFailed') {
    for (const jobId of event.jobIds) {
      const job = tx.job(jobId);
      if (!job || isEnded(job)) continue;
      const follower = tx.follower(jobId);
      if (follower?.state === 'queued') {
        tx.effect({ type: 'abortQueued', jobId });
        // Queued to re-attach (after a restart) or to launch: a container may already exist, and
        // the aborted task's end finds the job ended, so nothing else would remove it.
        if (job.phase !== 'queued') tx.effect({ type: 'removeContainer', jobId, purpose: 'crash' });
      } else if (follower) tx.effect({ type: 'post', jobId, message: { type: 'cancel', jobId } });
      else if (job.phase !== 'queued') tx.effect({ type: 'removeContainer', jobId, purpose: 'crash' });
      if (follower) tx.setFollower(jobId, { ...follower, stopping: 'cancel' });
      end(tx, job, {
        status: 'failed',
        exitCode: null,
        error: serializeError(
          new ClaudePodError(
            ErrorCodes.STATE_WRITE_FAILED,
            `The job's state could not be saved (${event.error.message}); it was stopped so nothing runs unrecorded`,
          ),
        ),
        endedAt: event.now,
        bestEffort: true,
      });
    }
    return tx.done();
  }
  const job = tx.job(event.jobId);
  if (!job) return tx.done();
  switch (event.type) {
    case 'workerReady':
      return workerReady(tx, job);
    case 'workerLaunched': {
      const follower = tx.follower(job.jobId);
      if (follower) tx.setFollower(job.jobId, { ...follower, state: 'active' });
      if (!isEnded(job)) tx.putJob({ ...job, launchedAt: job.launchedAt ?? event.at });
      return tx.done();
    }
    case 'containerStarted':
      if (isEnded(job)) return tx.done();
      if (job.phase === 'queued' || job.phase === 'launching') {
        tx.putJob({ ...job, phase: 'running', status: 'running', startedAt: job.startedAt ?? event.at });
        tx.effect(persist(true, job.jobId), { type: 'emit', event: 'job:running', jobId: job.jobId });
      } else if (job.startedAt === null) {
        tx.putJob({ ...job, startedAt: event.at });
      }
      return tx.done();
    case 'progress':
      if (isEnded(job)) return tx.done();
      tx.putJob({ ...job, progress: event.progress });
      tx.effect(persist(false, job.jobId), { type: 'emit', event: 'job:progress', jobId: job.jobId });
      return tx.done();
    case 'workerEnded':
      return workerEnded(tx, job, event.outcome, event.now);
    case 'workerFailed':
      return workerFailed(tx, job, event.error, event.now);
    case 'cancel':
      return cancel(tx, job, event.now);
    case 'containerRemoved':
      return containerRemoved(tx, job, event.purpose, event.now);
    case 'removeFailed':
      if (!isEnded(job) && !tx.follower(job.jobId)) tx.effect({ type: 'recheck', jobId: job.jobId });
      return tx.done();
    case 'containerFound':
      return containerFound(tx, job, event.status, event.now);
    case 'containerAbsent':
      return containerAbsent(tx, job, event.hadOutput, event.now);
    case 'dispatchFailed':
      if (isEnded(job)) return tx.done();
      tx.setFollower(job.jobId, null);
      tx.effect({ type: 'closeOutput', jobId: job.jobId });
      if (job.phase !== 'queued') tx.effect({ type: 'removeContainer', jobId: job.jobId, purpose: 'crash' });
      end(tx, job, { status: 'failed', exitCode: null, error: event.error, endedAt: event.now });
      return tx.done();
    case 'notified':
      if (!job.notified) {
        tx.putJob({ ...job, notified: true });
        tx.effect(persist(false, job.jobId));
      }
      return tx.done();
  }
}

function persist(urgent: boolean, ...jobIds: string[]): Effect {
  return { type: 'persist', urgent, jobIds };
}

function start(tx: Tx, event: Extract<Event, { type: 'start' }>, config: MachineConfig): Step {
  if (tx.state.closing) {
    return rejected(new ClaudePodError(ErrorCodes.SUPERVISOR_CLOSED, 'The supervisor is closed'));
  }
  let session: SessionRecord;
  if (event.sessionId !== undefined) {
    const existing = tx.session(event.sessionId);
    if (!existing) {
      return rejected(
        new ClaudePodError(
          ErrorCodes.SESSION_NOT_FOUND,
          `Session not found: ${event.sessionId}. Omit session_id to start a new session.`,
          { details: { sessionId: event.sessionId } },
        ),
      );
    }
    if (existing.activeJobId) {
      return rejected(
        new ClaudePodError(
          ErrorCodes.SESSION_BUSY,
          `Session ${existing.sessionId} already has a job in progress (${existing.activeJobId}); wait for it to finish or cancel it`,
          { details: { sessionId: existing.sessionId, jobId: existing.activeJobId } },
        ),
      );
    }
    session = existing;
  } else {
    session = {
      sessionId: event.newSessionId,
      createdAt: event.now,
      lastActivityAt: event.now,
      createdWorkspace: true,
      claudeSessionId: null,
      messageCount: 0,
      activeJobId: null,
      jobIds: [],
    };
  }
  let waiting = 0;
  let inFlight = 0;
  for (const job of tx.state.jobs.values()) {
    if (job.phase === 'queued') waiting++;
    else if (job.phase !== 'ended') inFlight++;
  }
  if (inFlight + waiting >= config.maxConcurrentJobs && waiting >= config.maxPendingJobs) {
    return rejected(
      new ClaudePodError(
        ErrorCodes.QUEUE_FULL,
        config.maxPendingJobs === 0
          ? `All ${config.maxConcurrentJobs} job slots are busy and maxPendingJobs is 0 (no queue); try again when a job ends`
          : `Too many pending jobs (${config.maxPendingJobs}); wait for some to finish`,
        { details: { maxPendingJobs: config.maxPendingJobs, maxConcurrentJobs: config.maxConcurrentJobs } },
      ),
    );
  }
  const engine = placeJob(tx.state, config);
  if (engine === null) {
    return rejected(
      new ClaudePodError(
        ErrorCodes.ENGINE_UNREACHABLE,
        `No engine is reachable (${[...(tx.state.downEngines ?? [])].join(', ')}); try again when one answers`,
        { details: { down: [...(tx.state.downEngines ?? [])] } },
      ),
    );
  }
  const job: JobRecord = {
    jobId: event.jobId,
    sessionId: session.sessionId,
    prompt: event.prompt,
    phase: 'queued',
    status: 'pending',
    cancelRequested: false,
    resumeClaudeSessionId: session.claudeSessionId,
    createdAt: event.now,
    launchedAt: null,
    startedAt: null,
    endedAt: null,
    exitCode: null,
    error: null,
    progress: emptyProgress(),
    notified: false,
    ...(engine === DEFAULT_ENGINE && !config.engines ? {} : { engine }),
  };
  tx.putJob(job);
  tx.putSession({
    ...session,
    activeJobId: job.jobId,
    messageCount: session.messageCount + 1,
    lastActivityAt: event.now,
    jobIds: [...session.jobIds, job.jobId],
  });
  tx.setFollower(job.jobId, { state: 'queued', mode: 'run', stopping: null });
  tx.effect(
    persist(true, job.jobId),
    { type: 'emit', event: 'job:start', jobId: job.jobId },
    { type: 'dispatch', jobId: job.jobId, mode: 'run' },
  );
  return tx.done();
}

function workerReady(tx: Tx, job: JobRecord): Step {
  const follower = tx.follower(job.jobId);
  if (!follower) return tx.done();
  tx.setFollower(job.jobId, { ...follower, state: 'ready' });
  const stop = follower.stopping ?? (job.cancelRequested ? 'cancel' : null);
  if (stop || isEnded(job)) {
    // It runs nothing: `cancel` ends it as cancelled, `detach` leaves it as it was on disk.
    tx.effect({ type: 'post', jobId: job.jobId, message: { type: stop ?? 'detach', jobId: job.jobId } });
    return tx.done();
  }
  if (follower.mode === 'run' && job.phase === 'queued') {
    // On disk before the container can exist: a crash from here on makes recovery look for it.
    tx.putJob({ ...job, phase: 'launching' });
    tx.effect(persist(true, job.jobId));
  }
  tx.effect({ type: 'post', jobId: job.jobId, message: { type: 'launch', jobId: job.jobId } });
  return tx.done();
}

function workerEnded(tx: Tx, job: JobRecord, outcome: JobOutcome, now: number): Step {
  tx.setFollower(job.jobId, null);
  tx.effect({ type: 'closeOutput', jobId: job.jobId });
  if (isEnded(job)) return tx.done();
  if (outcome.status === 'detached') {
    // Left running (or queued) for the next supervisor: nothing ends here.
    tx.putJob({ ...job, progress: outcome.progress });
    tx.effect(persist(true, job.jobId));
    return tx.done();
  }
  if (outcome.status === 'unknown') {
    // The runtime could not say how it ended: keep the job and look again later.
    tx.putJob({ ...job, progress: outcome.progress });
    tx.effect(persist(true, job.jobId), { type: 'recheck', jobId: job.jobId });
    return tx.done();
  }
  end(
    tx,
    { ...job, progress: outcome.progress },
    {
      status: outcome.status,
      exitCode: outcome.exitCode,
      error: outcome.error,
      endedAt: outcome.endedAt || now,
    },
  );
  return tx.done();
}

function workerFailed(tx: Tx, job: JobRecord, error: SerializedError, now: number): Step {
  const follower = tx.follower(job.jobId);
  tx.setFollower(job.jobId, null);
  tx.effect({ type: 'closeOutput', jobId: job.jobId });
  if (isEnded(job)) return tx.done();
  if (follower?.state === 'queued' && follower.stopping === 'detach') {
    // Taken off the queue by close(): it stays queued on disk for the next supervisor.
    return tx.done();
  }
  const cancelled = job.cancelRequested || follower?.stopping === 'cancel';
  // A container may exist from this or an earlier worker unless the job never launched.
  if (job.phase !== 'queued') tx.effect({ type: 'removeContainer', jobId: job.jobId, purpose: 'crash' });
  end(tx, job, {
    status: cancelled ? 'cancelled' : 'failed',
    exitCode: null,
    error: cancelled
      ? cancelledError()
      : serializeError(
          new ClaudePodError(ErrorCodes.WORKER_CRASHED, `The job's worker thread failed: ${error.message}`),
        ),
    endedAt: now,
  });
  return tx.done();
}

function cancel(tx: Tx, job: JobRecord, now: number): Step {
  if (isEnded(job) || job.cancelRequested) return tx.done();
  const requested = { ...job, cancelRequested: true };
  const follower = tx.follower(job.jobId);
  if (follower) {
    tx.setFollower(job.jobId, { ...follower, stopping: 'cancel' });
    tx.putJob(requested);
    tx.effect(
      persist(true, job.jobId),
      follower.state === 'queued'
        ? { type: 'abortQueued', jobId: job.jobId }
        : { type: 'post', jobId: job.jobId, message: { type: 'cancel', jobId: job.jobId } },
    );
    return tx.done();
  }
  if (job.phase === 'queued') {
    end(tx, requested, { status: 'cancelled', exitCode: null, error: cancelledError(), endedAt: now });
    return tx.done();
  }
  // Nobody follows it (recovery pending): stop the container ourselves.
  tx.putJob(requested);
  tx.effect(persist(true, job.jobId), { type: 'removeContainer', jobId: job.jobId, purpose: 'cancel' });
  return tx.done();
}

function close(tx: Tx, event: Extract<Event, { type: 'close' }>): Step {
  tx.changes.closing = true;
  for (const [jobId, follower] of tx.state.followers) {
    const job = tx.job(jobId);
    if (!job) continue;
    if (event.cancelRunning && !isEnded(job)) {
      cancel(tx, job, event.now);
      continue;
    }
    if (follower.stopping) continue;
    tx.setFollower(jobId, { ...follower, stopping: 'detach' });
    tx.effect(
      follower.state === 'queued'
        ? { type: 'abortQueued', jobId }
        : { type: 'post', jobId, message: { type: 'detach', jobId } },
    );
  }
  return tx.done();
}

function containerRemoved(tx: Tx, job: JobRecord, purpose: RemovePurpose, now: number): Step {
  if (isEnded(job) || purpose === 'crash' || tx.follower(job.jobId)) return tx.done();
  if (purpose === 'cancel' || job.cancelRequested) {
    end(tx, job, { status: 'cancelled', exitCode: null, error: cancelledError(), endedAt: now });
    return tx.done();
  }
  // A container created but never started (the host died while the runtime made it): run anew.
  rerun(tx, job);
  return tx.done();
}

function rerun(tx: Tx, job: JobRecord): void {
  tx.putJob({ ...job, phase: 'queued', status: 'pending', launchedAt: null });
  tx.setFollower(job.jobId, { state: 'queued', mode: 'run', stopping: null });
  tx.effect(persist(true, job.jobId), { type: 'dispatch', jobId: job.jobId, mode: 'run' });
}

function containerFound(tx: Tx, job: JobRecord, status: ContainerStatus, now: number): Step {
  if (isEnded(job) || tx.follower(job.jobId) || tx.state.closing) return tx.done();
  if (job.cancelRequested) {
    tx.effect({ type: 'removeContainer', jobId: job.jobId, purpose: 'cancel' });
    return tx.done();
  }
  if (status === 'created') {
    tx.effect({ type: 'removeContainer', jobId: job.jobId, purpose: 'rerun' });
    return tx.done();
  }
  const wasRunning = job.phase === 'running';
  tx.putJob({
    ...job,
    phase: 'running',
    status: 'running',
    startedAt: job.startedAt ?? job.launchedAt ?? now,
  });
  tx.setFollower(job.jobId, { state: 'queued', mode: 'attach', stopping: null });
  tx.effect(persist(true, job.jobId));
  if (!wasRunning) tx.effect({ type: 'emit', event: 'job:running', jobId: job.jobId });
  tx.effect({ type: 'dispatch', jobId: job.jobId, mode: 'attach' });
  return tx.done();
}

function containerAbsent(tx: Tx, job: JobRecord, hadOutput: boolean, now: number): Step {
  if (isEnded(job) || tx.follower(job.jobId) || tx.state.closing) return tx.done();
  if (job.cancelRequested) {
    end(tx, job, { status: 'cancelled', exitCode: null, error: cancelledError(), endedAt: now });
    return tx.done();
  }
  if (job.phase === 'queued' || (job.phase === 'launching' && !hadOutput)) {
    // Never seen to start, and no container: nothing ran, so run it.
    rerun(tx, job);
    return tx.done();
  }
  end(tx, job, {
    status: 'failed',
    exitCode: null,
    error: serializeError(
      new ClaudePodError(
        ErrorCodes.CONTAINER_LOST,
        'The job container disappeared while no supervisor was following it; its output so far is kept',
      ),
    ),
    endedAt: now,
  });
  return tx.done();
}

function engineUnreachable(
  tx: Tx,
  event: Extract<Event, { type: 'engineUnreachable' }>,
  config: MachineConfig,
): Step {
  const down = new Set(tx.state.downEngines ?? []);
  down.add(event.engine);
  tx.changes.engineDown = { engine: event.engine, down: true };
  const after: MachineState = { ...tx.state, downEngines: down };
  for (const job of tx.state.jobs.values()) {
    if (isEnded(job) || engineOf(job) !== event.engine) continue;
    const follower = tx.follower(job.jobId);
    const neverLaunched = job.phase === 'queued' && (!follower || follower.state === 'queued');
    const elsewhere = neverLaunched && !job.cancelRequested ? placeJob(after, config, tx) : null;
    if (elsewhere !== null) {
      // Nothing of it ran: it waits for a slot on another engine instead.
      if (follower) tx.effect({ type: 'requeue', jobId: job.jobId });
      tx.putJob({ ...job, engine: elsewhere });
      tx.setFollower(job.jobId, { state: 'queued', mode: 'run', stopping: null });
      tx.effect(persist(true, job.jobId), { type: 'dispatch', jobId: job.jobId, mode: 'run' });
      continue;
    }
    if (follower?.state === 'queued') tx.effect({ type: 'abortQueued', jobId: job.jobId });
    // The engine answers nothing: stop following; its container is reaped when it answers again.
    else if (follower)
      tx.effect({ type: 'post', jobId: job.jobId, message: { type: 'detach', jobId: job.jobId } });
    if (follower) tx.setFollower(job.jobId, { ...follower, stopping: 'detach' });
    end(tx, job, {
      status: 'failed',
      exitCode: null,
      error: serializeError(
        new ClaudePodError(
          ErrorCodes.ENGINE_UNREACHABLE,
          `The job's engine "${event.engine}" did not answer: ${event.error.message}; its output so far is kept`,
          { details: { engine: event.engine } },
        ),
      ),
      endedAt: event.now,
    });
  }
  return tx.done();
}

function cleanup(tx: Tx, event: Extract<Event, { type: 'cleanup' }>): Step {
  if (event.olderThanMs === null) return tx.done();
  const removed: string[] = [];
  for (const session of tx.state.sessions.values()) {
    if (session.activeJobId || event.now - session.lastActivityAt < event.olderThanMs) continue;
    const jobs = session.jobIds.map((id) => tx.job(id)).filter((j): j is JobRecord => j !== undefined);
    if (jobs.some((j) => !isEnded(j) || tx.follower(j.jobId))) continue;
    for (const j of jobs) tx.changes.removedJobs.add(j.jobId);
    tx.changes.removedSessions.add(session.sessionId);
    tx.effect({
      type: 'removeSessionFiles',
      sessionId: session.sessionId,
      deleteWorkspace: session.createdWorkspace,
    });
    removed.push(session.sessionId);
  }
  if (removed.length) {
    tx.effect(persist(true));
    for (const sessionId of removed) tx.effect({ type: 'emitSessionRemoved', sessionId });
  }
  return tx.done();
}

interface Ending {
  status: 'completed' | 'failed' | 'cancelled';
  exitCode: number | null;
  error: SerializedError | null;
  endedAt: number;
  bestEffort?: boolean;
}

/** The one way a job ends: its session is freed, its token revoked, the end announced once on disk. */
function end(tx: Tx, job: JobRecord, e: Ending): void {
  tx.putJob({
    ...job,
    phase: 'ended',
    status: e.status,
    exitCode: e.exitCode,
    error: e.error,
    endedAt: e.endedAt,
  });
  const session = tx.session(job.sessionId);
  if (session) {
    tx.putSession({
      ...session,
      activeJobId: session.activeJobId === job.jobId ? null : session.activeJobId,
      lastActivityAt: e.endedAt,
      // Only a job that completed says which Claude session to resume: a container can print a
      // forged early `result` and then die.
      claudeSessionId:
        e.status === 'completed' && job.progress.claude.sessionId
          ? job.progress.claude.sessionId
          : session.claudeSessionId,
    });
  }
  tx.effect(
    { type: 'persist', urgent: true, jobIds: [job.jobId], ...(e.bestEffort ? { bestEffort: true } : {}) },
    { type: 'revoke', jobId: job.jobId },
    { type: 'emit', event: 'job:end', jobId: job.jobId },
    { type: 'notify', jobId: job.jobId },
  );
}

const cancelledError = (): SerializedError =>
  serializeError(new ClaudePodError(ErrorCodes.CANCELLED, 'Job cancelled'));

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

/** Applies a step's changes to the mutable maps the supervisor keeps (the model test does too). */
export function applyChanges(
  target: {
    jobs: Map<string, JobRecord>;
    sessions: Map<string, SessionRecord>;
    followers: Map<string, Follower>;
  },
  changes: Changes,
): void {
  for (const [id, job] of changes.jobs) target.jobs.set(id, job);
  for (const [id, session] of changes.sessions) target.sessions.set(id, session);
  for (const [id, follower] of changes.followers) {
    if (follower === null) target.followers.delete(id);
    else target.followers.set(id, follower);
  }
  for (const id of changes.removedJobs) target.jobs.delete(id);
  for (const id of changes.removedSessions) target.sessions.delete(id);
}
