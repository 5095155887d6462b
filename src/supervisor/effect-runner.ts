import { closeSync, openSync } from 'node:fs';
import { containerNameFor } from '../runtime/labels.js';
import type { ResolvedConfig } from '../shared/config.js';
import { ClaudePodError, ErrorCodes, serializeError, type SerializedError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { assertNever, workerMessageSchema, type JobOutcome } from '../shared/protocol.js';
import type { ApiAccess, ApiGate } from './api-gate.js';
import type { EngineEntry } from './engine-set.js';
import { engineOf, type Effect, type Event } from './job-machine.js';
import { buildJobSpec } from './job-spec.js';
import { jobStatusView } from './job-view.js';
import type { Notifier } from './notifier.js';
import type { SubmittedJob } from './pool.js';
import { remoteJobParts, runtimeVolumeName, sharedPath } from './remote-job.js';
import { packDir } from '../runtime/workspace-tar.js';
import { LABEL_MANAGED, LABEL_OWNER } from '../runtime/labels.js';
import type { RegistryFile } from './registry-file.js';
import { prepareSessionDirs, removeSessionFiles } from './session-files.js';
import type { StatePaths } from './state-paths.js';
import type { Supervisor } from './supervisor.js';

interface LiveJob {
  /** Which dispatch this is: messages from an earlier one (re-run, re-attach) are ignored. */
  gen: number;
  abort: AbortController;
  fd: number | null;
  handle: SubmittedJob | null;
}

export interface EffectRunnerDeps {
  supervisor: Supervisor;
  config: ResolvedConfig;
  engines: ReadonlyMap<string, EngineEntry>;
  apiGate: ApiGate;
  registry: RegistryFile;
  notifier: Notifier | undefined;
  logger: Logger;
  paths: StatePaths;
  containerUid: number | null;
  runtimeDir: string;
  ownerId: string;
}

const RECHECK_MAX_MS = 60_000;

/**
 * Carries out the effects transitions return, in order, and feeds what it learns back to the
 * supervisor as events. Effects that must be ordered (persist, then emit or post) run on one
 * chain; slow ones (runtime calls, token grants, notifications) are started from the chain and
 * report back with an event. Nothing here decides a job's state.
 */
export class EffectRunner {
  /** One chain per job (and one for events about no single job): a job's effects stay in order. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly live = new Map<string, LiveJob>();
  private readonly grants = new Map<string, ApiAccess>();
  private readonly removals = new Map<string, Promise<{ bytesFreed: number; workspaceDeleted: boolean }>>();
  private readonly rechecks = new Map<string, number>();
  /** Per remote engine: its runtime-files volume, made once (content-addressed). */
  private readonly runtimeFiles = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  private gen = 0;
  private closed = false;

  constructor(private readonly d: EffectRunnerDeps) {}

  run(effects: Effect[], event: Event): Promise<void> {
    const key = 'jobId' in event ? event.jobId : '*';
    const previous = this.chains.get(key) ?? Promise.resolve();
    if (effects.length === 0) return previous;
    const step = previous
      .then(async () => {
        for (const effect of effects) {
          if (!(await this.execute(effect))) break;
        }
      })
      .catch((error: unknown) =>
        this.d.logger.error({ err: serializeError(error), event: event.type }, 'effect failed'),
      );
    this.chains.set(key, step);
    void step.then(() => {
      if (this.chains.get(key) === step) this.chains.delete(key);
    });
    return step;
  }

  /** Returns false when the rest of the event's effects must not run (its state is not on disk). */
  private async execute(effect: Effect): Promise<boolean> {
    const sup = this.d.supervisor;
    switch (effect.type) {
      case 'persist':
        return this.persist(effect.urgent, effect.jobIds, effect.bestEffort === true);
      case 'emit': {
        const job = sup.job(effect.jobId);
        if (job) this.safely(() => sup.emit(effect.event, jobStatusView(job, Date.now())));
        return true;
      }
      case 'emitSessionRemoved':
        this.safely(() => sup.emit('session:removed', effect.sessionId));
        return true;
      case 'dispatch':
        this.track(this.dispatch(effect.jobId, effect.mode));
        return true;
      case 'post': {
        const live = this.live.get(effect.jobId);
        if (live?.handle) live.handle.send(effect.message);
        else
          this.d.logger.warn({ jobId: effect.jobId, message: effect.message.type }, 'no worker to post to');
        return true;
      }
      case 'requeue': {
        const live = this.live.get(effect.jobId);
        this.live.delete(effect.jobId);
        live?.abort.abort();
        closeFd(live?.fd ?? null);
        return true;
      }
      case 'abortQueued': {
        const live = this.live.get(effect.jobId);
        if (live) live.abort.abort();
        // Not handed to the pool yet (or never will be): the task ends here, as aborted.
        else if (!this.closed)
          this.d.supervisor.send({
            type: 'workerFailed',
            jobId: effect.jobId,
            error: { code: ErrorCodes.CANCELLED, message: 'aborted before it was queued' },
            now: Date.now(),
          });
        return true;
      }
      case 'removeContainer':
        // Awaited: what follows for this job (its end announced) comes after the container is gone.
        await this.removeContainer(effect.jobId, effect.purpose);
        return true;
      case 'revoke':
        this.grants.delete(effect.jobId);
        this.track(
          this.d.apiGate
            .revoke(effect.jobId)
            .catch((error: unknown) =>
              this.d.logger.warn({ jobId: effect.jobId, err: serializeError(error) }, 'revoke failed'),
            ),
        );
        return true;
      case 'closeOutput': {
        const live = this.live.get(effect.jobId);
        this.live.delete(effect.jobId);
        closeFd(live?.fd ?? null);
        return true;
      }
      case 'notify':
        this.notify(effect.jobId);
        return true;
      case 'recheck': {
        const delay = this.rechecks.get(effect.jobId) ?? sup.timing.recheckMinMs;
        this.rechecks.set(effect.jobId, Math.min(delay * 2, RECHECK_MAX_MS));
        sup.later(() => void sup.recover(new Set([effect.jobId])), delay);
        return true;
      }
      case 'removeSessionFiles': {
        const removal = removeSessionFiles(this.d.paths, effect.sessionId, effect.deleteWorkspace).catch(
          (error: unknown) => {
            this.d.logger.warn({ sessionId: effect.sessionId, err: serializeError(error) }, 'session files');
            return { bytesFreed: 0, workspaceDeleted: false };
          },
        );
        this.removals.set(effect.sessionId, removal);
        this.track(removal);
        return true;
      }
      default:
        return assertNever(effect, 'effect');
    }
  }

  private async persist(urgent: boolean, jobIds: string[], bestEffort: boolean): Promise<boolean> {
    for (const id of jobIds) this.dirty.add(id);
    if (!urgent) {
      this.d.registry.soon();
      return true;
    }
    try {
      await this.d.registry.now();
      this.dirty.clear();
      return true;
    } catch (error) {
      const failure = serializeError(error);
      this.d.logger.error({ err: failure }, 'registry write failed');
      if (!bestEffort) this.failUnsaved(failure, jobIds);
      return false;
    }
  }

  /** A debounced write that failed for good (after its retries). */
  onBackgroundWriteFailure(error: ClaudePodError): void {
    this.d.logger.error({ err: serializeError(error) }, 'registry write failed');
    this.failUnsaved(serializeError(error), []);
  }

  private failUnsaved(error: SerializedError, jobIds: string[]): void {
    const ids = [...new Set([...this.dirty, ...jobIds])];
    this.dirty.clear();
    if (ids.length) this.d.supervisor.send({ type: 'persistFailed', jobIds: ids, error, now: Date.now() });
  }

  /** start() grants the token before anything is recorded (NO_AUTH leaves no trace). */
  async grantAhead(jobId: string): Promise<void> {
    this.grants.set(jobId, await this.d.apiGate.grant(jobId));
  }

  async dropGrant(jobId: string): Promise<void> {
    this.grants.delete(jobId);
    await this.d.apiGate.revoke(jobId).catch(() => undefined);
  }

  /** Hands a job to the pool: credentials, directories, the output file, the spec. */
  private async dispatch(jobId: string, mode: 'run' | 'attach'): Promise<void> {
    const sup = this.d.supervisor;
    // The machine may have dropped or stopped this follower since the effect was queued.
    const wanted = () => {
      const follower = sup.follower(jobId);
      return follower !== undefined && follower.state === 'queued' && follower.stopping === null;
    };
    if (!wanted()) return;
    const entry: LiveJob = { gen: ++this.gen, abort: new AbortController(), fd: null, handle: null };
    closeFd(this.live.get(jobId)?.fd ?? null);
    this.live.set(jobId, entry);
    const job = sup.job(jobId);
    const session = job ? sup.session(job.sessionId) : undefined;
    try {
      if (!job || !session) throw new Error(`this should not happen: dispatch of an unknown job ${jobId}`);
      let access: ApiAccess | undefined;
      let activityFile: string | undefined;
      let apiSocketDir: string | undefined;
      if (mode === 'run') {
        access = this.grants.get(jobId) ?? (await this.d.apiGate.grant(jobId));
        this.grants.delete(jobId);
        activityFile = access.activityFile;
      } else {
        const again = await this.d.apiGate.reattach(jobId).catch((error: unknown) => {
          this.d.logger.warn(
            { jobId, err: serializeError(error) },
            'model API proxy unavailable on re-attach',
          );
        });
        activityFile = again?.activityFile;
        apiSocketDir = again?.socketDir;
      }
      const engine = this.d.engines.get(engineOf(job));
      if (!engine) {
        throw new ClaudePodError(
          ErrorCodes.ENGINE_UNREACHABLE,
          `engine "${engineOf(job)}" is not configured`,
        );
      }
      if (engine.remote && mode === 'run') {
        // Retried while the engine gives no answer (the job stays queued meanwhile); a job moved
        // to another engine, cancelled or closed since stops the loop.
        for (let delay = 1_000; ; delay = Math.min(delay * 2, 30_000)) {
          try {
            await this.ensureRuntimeFiles(engine);
            break;
          } catch (error) {
            if (serializeError(error).code !== ErrorCodes.RUNTIME_FAILED) throw error;
            this.d.logger.warn(
              { jobId, engine: engine.name, err: serializeError(error) },
              'engine not answering',
            );
            this.d.supervisor.suspectEngine(engine.name);
            await new Promise((resolve) => setTimeout(resolve, delay).unref());
            if (
              this.live.get(jobId) !== entry ||
              this.closed ||
              !wanted() ||
              sup.job(jobId)?.engine !== job.engine
            )
              return;
          }
        }
      }
      await prepareSessionDirs(this.d.paths, job.sessionId, jobId, this.d.containerUid);
      entry.fd = openSync(this.d.paths.outputFile(job.sessionId, jobId), 'a+', 0o600);
      if (entry.abort.signal.aborted || this.closed || !wanted())
        throw new Error('aborted before it was queued');
      const base = {
        config: this.d.config,
        runtime: engine.rt,
        ownerId: this.d.ownerId,
        job,
        containerName: containerNameFor(jobId),
        outputPath: this.d.paths.outputFile(job.sessionId, jobId),
        outputFd: entry.fd,
        workspaceDir: this.d.paths.workspace(job.sessionId),
        claudeDir: this.d.paths.claudeDir(job.sessionId),
        mode,
        ...(access ? { api: access } : {}),
        ...(activityFile ? { activityFile } : {}),
        runtimeDir: this.d.runtimeDir,
      };
      const spec = buildJobSpec({
        ...base,
        ...(engine.remote
          ? { remote: remoteJobParts({ ...base, ...(apiSocketDir ? { apiSocketDir } : {}) }, engine.remote) }
          : {}),
      });
      const gen = entry.gen;
      const handle = engine.pool.submit(
        spec,
        (raw) => this.onWorkerMessage(jobId, gen, raw),
        entry.abort.signal,
      );
      entry.handle = handle;
      handle.done.then(
        (outcome) => this.ended(jobId, gen, outcome),
        (error: unknown) => this.failed(jobId, gen, error),
      );
    } catch (error) {
      if (this.live.get(jobId) !== entry || this.closed) {
        closeFd(entry.fd);
        return;
      }
      if (entry.abort.signal.aborted || !wanted()) this.failed(jobId, entry.gen, error);
      else sup.send({ type: 'dispatchFailed', jobId, error: dispatchError(error), now: Date.now() });
    }
  }

  /** The runtime files in their volume on a remote engine (not needed where a shared path covers them). */
  private ensureRuntimeFiles(engine: EngineEntry): Promise<void> {
    if (!engine.remote || !engine.volumes || sharedPath(engine.remote, this.d.runtimeDir))
      return Promise.resolve();
    const volumes = engine.volumes;
    let made = this.runtimeFiles.get(engine.name);
    if (!made) {
      const ref = { volume: runtimeVolumeName(this.d.runtimeDir) };
      const opts = {
        labels: { [LABEL_MANAGED]: 'true', [LABEL_OWNER]: this.d.ownerId },
        image: this.d.config.image,
      };
      made = (async () => {
        if (await volumes.complete(ref, opts)) return;
        await volumes.load(ref, packDir(this.d.runtimeDir, { keepModes: true }), {
          ...opts,
          markComplete: true,
        });
      })();
      made.catch(() => this.runtimeFiles.delete(engine.name));
      this.runtimeFiles.set(engine.name, made);
    }
    return made;
  }

  private current(jobId: string, gen: number): boolean {
    return !this.closed && this.live.get(jobId)?.gen === gen;
  }

  private onWorkerMessage(jobId: string, gen: number, raw: unknown): void {
    if (!this.current(jobId, gen)) return;
    const parsed = workerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.d.logger.error({ jobId }, 'invalid message from worker');
      return;
    }
    const message = parsed.data;
    const sup = this.d.supervisor;
    switch (message.type) {
      case 'ready':
        sup.send({ type: 'workerReady', jobId });
        break;
      case 'launched':
        sup.send({ type: 'workerLaunched', jobId, at: message.at });
        break;
      case 'started':
        sup.send({ type: 'containerStarted', jobId, at: message.at });
        break;
      case 'progress':
        sup.send({ type: 'progress', jobId, progress: message.progress });
        break;
      case 'ended':
        this.ended(jobId, gen, message.outcome);
        break;
      case 'error':
        this.d.logger.error({ jobId, error: message.error }, 'worker error');
        break;
      case 'log':
        this.d.logger[message.level]({ jobId, ...message.data }, message.msg);
        break;
      default:
        assertNever(message, 'worker message');
    }
  }

  private ended(jobId: string, gen: number, outcome: JobOutcome): void {
    if (!this.current(jobId, gen)) return;
    this.rechecks.delete(jobId);
    this.d.supervisor.send({ type: 'workerEnded', jobId, outcome, now: Date.now() });
  }

  private failed(jobId: string, gen: number, error: unknown): void {
    if (!this.current(jobId, gen)) return;
    this.d.supervisor.send({ type: 'workerFailed', jobId, error: serializeError(error), now: Date.now() });
  }

  private async removeContainer(jobId: string, purpose: 'cancel' | 'rerun' | 'crash'): Promise<void> {
    try {
      const job = this.d.supervisor.job(jobId);
      const engine = job ? this.d.engines.get(engineOf(job)) : undefined;
      if (!engine)
        throw new ClaudePodError(ErrorCodes.ENGINE_UNREACHABLE, 'the job has no configured engine');
      await engine.engine.remove(containerNameFor(jobId));
      if (!this.closed) this.d.supervisor.send({ type: 'containerRemoved', jobId, purpose, now: Date.now() });
    } catch (error) {
      this.d.logger.warn({ jobId, err: serializeError(error) }, 'could not remove a container');
      if (!this.closed)
        this.d.supervisor.send({ type: 'removeFailed', jobId, purpose, error: serializeError(error) });
    }
  }

  notify(jobId: string): void {
    const notifier = this.d.notifier;
    const job = this.d.supervisor.job(jobId);
    if (!notifier || !job || job.notified) return;
    this.track(
      notifier.notify(jobStatusView(job, Date.now())).then((delivered) => {
        if (delivered && !this.closed) this.d.supervisor.send({ type: 'notified', jobId });
      }),
    );
  }

  /** What cleanup() reports for a removed session (after its files are gone). */
  async sessionRemoval(sessionId: string): Promise<{
    sessionId: string;
    workspaceDir: string;
    workspaceDeleted: boolean;
    bytesFreed: number;
  }> {
    const result = (await this.removals.get(sessionId)) ?? { bytesFreed: 0, workspaceDeleted: false };
    this.removals.delete(sessionId);
    return { sessionId, workspaceDir: this.d.paths.workspace(sessionId), ...result };
  }

  /**
   * After close: the pool is stopped and nothing a worker says any longer changes a job (jobs
   * still followed stay as they are on disk, for the next supervisor to recover).
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.d.engines.values()].map((e) =>
        e.pool
          .close()
          .catch((error: unknown) => this.d.logger.warn({ err: serializeError(error) }, 'pool close')),
      ),
    );
    for (const live of this.live.values()) closeFd(live.fd);
    this.live.clear();
    await withTimeout(Promise.allSettled([...this.chains.values()]), 10_000);
    await withTimeout(Promise.allSettled([...this.background]), 10_000);
  }

  async closeGate(jobsStillRunning: boolean): Promise<void> {
    await this.d.apiGate.close({ jobsStillRunning }).catch(() => undefined);
  }

  private track(p: Promise<unknown>): void {
    const settled = p.catch((error: unknown) =>
      this.d.logger.error({ err: serializeError(error) }, 'background effect failed'),
    );
    this.background.add(settled);
    void settled.finally(() => this.background.delete(settled));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.d.logger.error({ err: serializeError(error) }, 'an event listener threw');
    }
  }
}

function closeFd(fd: number | null): void {
  if (fd === null) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

function dispatchError(error: unknown): SerializedError {
  const e = serializeError(error);
  if (e.code !== ErrorCodes.INTERNAL) return e;
  return serializeError(
    new ClaudePodError(ErrorCodes.INTERNAL, `The job could not be handed to a worker: ${e.message}`),
  );
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
