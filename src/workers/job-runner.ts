import { statSync } from 'node:fs';
import { openContainerCgroup, type CgroupStats } from '../runtime/cgroup-stats.js';
import { createEngine, createVolumeStore } from '../runtime/create-engine.js';
import type { VolumeStore } from '../runtime/volumes.js';
import type { ContainerEngine, ContainerState, ContainerStream, StatsSample } from '../runtime/engine.js';
import { ClaudePodError, ErrorCodes, serializeError, type SerializedError } from '../shared/errors.js';
import {
  assertNever,
  emptyClaudeReport,
  type ActivityState,
  type JobMetrics,
  type JobOutcome,
  type JobProgress,
  type JobSpec,
  type SupervisorMessage,
  type WorkerMessage,
} from '../shared/protocol.js';
import { classifyExit } from './classify-exit.js';
import { DiskWatch, type DiskFull, type StatSpace } from './disk-watch.js';
import { systemClock, type Clock } from './clock.js';
import { OutputStore } from './output-store.js';
import { TimerTicker, type ProgressTicker } from './progress-ticker.js';
import { SlicedFeed } from './sliced-feed.js';
import { StreamIngest } from './stream-ingest.js';
import { OutputWatchdog, type TimerKind } from './timers.js';
import { RemoteSide } from './remote-side.js';

/** Metrics samples that look for the container's cgroup before settling for `stats`. */
const CGROUP_LOOKUPS = 5;
/** Output within this many seconds makes a job "active". */
export const ACTIVE_WINDOW_MS = 5_000;
/** CPU use above this makes a quiet job "processing" rather than "idle". */
export const PROCESSING_CPU_PERCENT = 5;
/** Times a stream that ended while its container still ran is followed again before giving up. */
const MAX_REFOLLOWS = 5;
/** Inspect attempts (with backoff) before the container's state counts as unknown. */
const INSPECT_ATTEMPTS = 4;
/** How long a detach waits for a container that is still being created to start. */
const DETACH_WAIT_MS = 15_000;
/**
 * Output bytes a job feeds to its ingest per event-loop turn at most: its thread-mates wait no
 * longer than this takes (about 0.1 ms for stream-json; see sliced-feed.ts).
 */
export const FEED_SLICE_BYTES = 128 * 1024;

export function activityOf(
  lastOutputAt: number | null,
  metrics: JobMetrics | null,
  now: number,
): ActivityState {
  if (lastOutputAt !== null && now - lastOutputAt < ACTIVE_WINDOW_MS) return 'active';
  if (metrics && metrics.cpuPercent >= PROCESSING_CPU_PERCENT) return 'processing';
  return 'idle';
}

export interface JobRunnerOptions {
  clock?: Clock;
  /** The engine to use (tests); by default one is built from `spec.runtime`. */
  engine?: ContainerEngine;
  /** When progress snapshots go out: the host's shared tick; by default a timer of the runner's own. */
  ticker?: ProgressTicker;
  /** Output bytes fed per turn at most (default FEED_SLICE_BYTES). */
  sliceBytes?: number;
  /** The volumes of a remote engine (tests); by default built from `spec.runtime`. */
  volumes?: VolumeStore;
  /** How the free space of `spec.diskPaths` is read (tests); by default statfs(2). */
  diskStat?: StatSpace;
}

/**
 * One job's actor in a worker: from container start (or re-attach after a supervisor restart)
 * to its outcome. It reports facts — launched, started, progress, ended — and never decides the
 * job's state: the supervisor's state machine does. It is independent of piscina, so the inline
 * host (benchmark baseline, model-based tests) runs the very same code on the main thread.
 */
export class JobRunner {
  private readonly engine: ContainerEngine;
  private readonly clock: Clock;
  private readonly ticker: ProgressTicker;
  private readonly sliceBytes: number;
  private store: OutputStore | null = null;
  private ingest: StreamIngest | null = null;
  private stream: ContainerStream | null = null;
  private feed: SlicedFeed | null = null;
  /** Output bytes received from every stream so far (the host's measure of this job's load). */
  private bytesBefore = 0;
  private watchdog: OutputWatchdog | null = null;
  private metricsTimer: unknown = null;
  private progressDue = false;
  private metrics: JobMetrics | null = null;
  /** undefined until the first sample looks for it; null: use the runtime's `stats`. */
  private cgroup: CgroupStats | null | undefined = undefined;
  private cgroupLookups = 0;
  private launchedAt: number | null = null;
  private startedAt: number | null = null;
  private firstOutputAt: number | null = null;
  private lastOutputAt: number | null = null;
  private lastBusyAt: number | null = null;
  private stderrTail = '';
  private cancelled = false;
  private detached = false;
  private timedOut: TimerKind | null = null;
  /** Set when a metrics tick found a watched filesystem full and stopped the container. */
  private diskFull: DiskFull | null = null;
  private readonly disk: DiskWatch;
  private ending = false;
  private launch: (() => void) | null = null;
  private readonly launched: Promise<void>;
  /** A job on a remote engine: its volumes and its model-API tunnel. */
  private readonly remote: RemoteSide | null;

  constructor(
    private readonly spec: JobSpec,
    private readonly post: (message: WorkerMessage) => void,
    options: JobRunnerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.engine = options.engine ?? createEngine(spec.runtime);
    this.ticker = options.ticker ?? new TimerTicker(this.clock);
    this.sliceBytes = options.sliceBytes ?? FEED_SLICE_BYTES;
    this.disk = new DiskWatch(spec.diskPaths ?? [], options.diskStat);
    this.launched = new Promise<void>((resolve) => (this.launch = resolve));
    this.remote = spec.remote
      ? new RemoteSide(
          spec.remote,
          spec.containerName,
          this.engine,
          options.volumes ?? createVolumeStore(spec.runtime),
          this.clock,
          (level, msg, data) =>
            this.post({ type: 'log', jobId: spec.jobId, level, msg, ...(data ? { data } : {}) }),
        )
      : null;
  }

  /**
   * Announces itself (`ready`), waits for the supervisor's `launch` (sent once the supervisor has
   * recorded that a container may now exist), then runs or follows the container to its end.
   */
  async run(): Promise<JobOutcome> {
    const { spec } = this;
    this.post({ type: 'ready', jobId: spec.jobId });
    await this.launched;
    if (this.detached || this.cancelled || this.ending) return this.notLaunched();
    this.store = OutputStore.open(spec.outputPath, {
      maxOutputSize: spec.maxOutputSize,
      ...(spec.outputFd === undefined ? {} : { fd: spec.outputFd }),
      onReplayMismatch: (info) =>
        this.post({
          type: 'log',
          jobId: spec.jobId,
          level: 'error',
          msg: 'replayed output differs from the file a crashed run left; the file keeps its bytes',
          data: { ...info },
        }),
    });
    try {
      this.ingest = new StreamIngest(this.store, { maxLineBytes: this.spec.maxLineBytes });
      this.launchedAt = this.clock.now();
      this.post({ type: 'launched', jobId: spec.jobId, at: this.launchedAt });
      this.watchdog = new OutputWatchdog(
        this.clock,
        spec.startupTimeoutSeconds * 1000,
        spec.idleTimeoutSeconds * 1000,
        (kind) => void this.onTimeout(kind),
        () => this.otherActivityAt(),
      );
      if (this.remote && spec.mode === 'run') {
        const seeded = await this.remote.seed();
        if (!seeded.ok) return this.unstarted(seeded);
      }
      this.watchdog.start();
      this.scheduleMetrics();
      let stream = this.open(spec.mode === 'run' ? 'run' : 'follow');
      this.remote?.keepTunnel(async () => this.stillRuns(await this.engine.inspect(spec.containerName)));
      let end = await this.streamEnd(stream);
      for (let refollow = 0; ; refollow++) {
        const state = await this.inspectPatiently();
        if (state === 'unknown' || !this.stillRuns(state) || this.detached || refollow >= MAX_REFOLLOWS) {
          this.ingest.end();
          return await this.finish(state, end);
        }
        // The client ended but the container runs on (the client was killed, the log stream
        // broke): follow its log again from the first byte; the store skips what it already has.
        this.post({
          type: 'log',
          jobId: spec.jobId,
          level: 'warn',
          msg: 'stream ended early; following again',
        });
        this.ingest.end();
        this.ingest = new StreamIngest(this.reopenStore(), { maxLineBytes: this.spec.maxLineBytes });
        stream = this.open('follow');
        end = await this.streamEnd(stream);
      }
    } finally {
      this.remote?.stopTunnel();
      this.stopTimers();
      this.store?.close();
    }
  }

  /** A remote job whose volumes could not be seeded: nothing ran. */
  private unstarted(seeded: { unknown: boolean; error: SerializedError }): JobOutcome {
    this.stopTimers();
    return {
      // The engine gave no answer: the supervisor looks again (no container: it runs the job anew).
      status: seeded.unknown ? 'unknown' : 'failed',
      exitCode: null,
      error: seeded.unknown ? null : seeded.error,
      progress: this.progress(),
      endedAt: this.clock.now(),
    };
  }

  /** A message from the supervisor. */
  handle(message: SupervisorMessage): void {
    switch (message.type) {
      case 'launch':
        this.launch?.();
        break;
      case 'cancel':
        void this.cancel();
        break;
      case 'detach':
        void this.detach();
        break;
      default:
        assertNever(message, 'supervisor message');
    }
  }

  /** SIGINT to Claude Code, a grace period, then the container is killed and removed. */
  async cancel(graceMs = this.spec.cancelGraceMs): Promise<void> {
    if (this.cancelled || this.ending) return;
    this.cancelled = true;
    if (!this.stream) {
      this.launch?.();
      return;
    }
    const { containerName } = this.spec;
    await this.engine.kill(containerName, 'SIGINT').catch(() => 'unknown');
    this.post({
      type: 'log',
      jobId: this.spec.jobId,
      level: 'info',
      msg: 'cancel: SIGINT sent, waiting out the grace period',
    });
    const stream = this.stream;
    await new Promise<void>((resolve) => {
      const handle = this.clock.setTimeout(resolve, graceMs);
      void stream.done.then(() => {
        this.clock.clearTimeout(handle);
        resolve();
      });
    });
    if (!this.ending) await this.removeContainer();
  }

  /**
   * Stop following and leave the container running: a later supervisor re-attaches to it. A
   * container still being created is waited for first: killing its `run` client at that moment
   * would leave it `Created` and never started.
   */
  async detach(): Promise<void> {
    if (this.ending || this.detached) return;
    this.detached = true;
    if (!this.stream) {
      this.launch?.();
      return;
    }
    if (this.spec.mode === 'run' && this.startedAt === null) {
      const deadline = this.clock.now() + DETACH_WAIT_MS;
      while (!this.ending && this.startedAt === null && this.clock.now() < deadline) {
        const state = await this.engine
          .inspect(this.spec.containerName, { timeoutMs: 5_000 })
          .catch(() => null);
        if (state && state.status !== 'created') break;
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, 100));
      }
    }
    this.stream?.detach();
  }

  /** Its thread is gone (tests of the inline host): stop everything, say nothing more. */
  abandon(): void {
    this.detached = true;
    this.stopTimers();
    this.feed?.stop();
    this.launch?.();
    this.stream?.detach();
  }

  /** Output bytes received so far, over every stream followed. */
  get bytesIn(): number {
    return this.bytesBefore + (this.feed?.received ?? 0);
  }

  /** The stream's end, once every byte it delivered has been fed to the ingest. */
  private async streamEnd(stream: ContainerStream): Promise<Awaited<ContainerStream['done']>> {
    const end = await stream.done;
    await this.feed?.drained();
    return end;
  }

  private open(how: 'run' | 'follow'): ContainerStream {
    const { spec } = this;
    let stream: ContainerStream;
    if (how === 'run') {
      if (!spec.container) throw new Error('this should not happen: a run without a container spec');
      stream = this.engine.run(spec.container);
    } else {
      stream = this.engine.follow(spec.containerName);
    }
    this.stream = stream;
    this.bytesBefore += this.feed?.received ?? 0;
    const feed = new SlicedFeed((slice) => this.ingest?.push(slice), { sliceBytes: this.sliceBytes });
    this.feed = feed;
    feed.attach(stream.stdout);
    stream.stdout.on('data', (chunk: Buffer) => this.onStdout(feed, chunk));
    // A late `detach` must reach the new stream too.
    if (this.detached && !this.ending) stream.detach();
    return stream;
  }

  private reopenStore(): OutputStore {
    this.store?.close();
    this.store = OutputStore.open(this.spec.outputPath, {
      maxOutputSize: this.spec.maxOutputSize,
      ...(this.spec.outputFd === undefined ? {} : { fd: this.spec.outputFd }),
    });
    return this.store;
  }

  private onStdout(feed: SlicedFeed, chunk: Buffer): void {
    const now = this.clock.now();
    this.firstOutputAt ??= now;
    this.lastOutputAt = now;
    this.markStarted(now);
    this.watchdog?.outputSeen();
    feed.push(chunk);
    this.scheduleProgress();
  }

  private markStarted(at: number): void {
    if (this.startedAt !== null) return;
    this.startedAt = at;
    this.post({ type: 'started', jobId: this.spec.jobId, at });
  }

  /** Activity besides output: bytes through the job's API connection, and CPU use. */
  private otherActivityAt(): number | null {
    let at = this.lastBusyAt;
    if (this.spec.activityFile) {
      try {
        const mtime = statSync(this.spec.activityFile).mtimeMs;
        if (at === null || mtime > at) at = mtime;
      } catch {
        // no API traffic yet
      }
    }
    return at;
  }

  private async onTimeout(kind: TimerKind): Promise<void> {
    if (this.ending || this.cancelled) return;
    this.timedOut = kind;
    this.post({
      type: 'log',
      jobId: this.spec.jobId,
      level: 'warn',
      msg: `${kind} timeout: killing the container`,
    });
    await this.removeContainer();
  }

  /** A watched filesystem that is full stops the job (DISK_QUOTA), as a timeout does. */
  private async checkDisk(): Promise<void> {
    if (this.ending || this.cancelled || this.diskFull) return;
    const full = await this.disk.check();
    if (!full || this.ending || this.cancelled) return;
    this.diskFull = full;
    this.post({
      type: 'log',
      jobId: this.spec.jobId,
      level: 'warn',
      msg: `${full.path} is full: killing the container`,
      data: { availBytes: full.availBytes, sizeBytes: full.sizeBytes },
    });
    await this.removeContainer();
  }

  private async removeContainer(): Promise<void> {
    await this.engine.remove(this.spec.containerName).catch((error: unknown) =>
      this.post({
        type: 'log',
        jobId: this.spec.jobId,
        level: 'warn',
        msg: 'could not remove the container',
        data: { err: serializeError(error) },
      }),
    );
  }

  /** The container's state, or 'unknown' after a few failed attempts (never a guess). */
  private async inspectPatiently(): Promise<ContainerState | null | 'unknown'> {
    let delay = 200;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.engine.inspect(this.spec.containerName);
      } catch (error) {
        if (attempt >= INSPECT_ATTEMPTS) {
          this.post({
            type: 'log',
            jobId: this.spec.jobId,
            level: 'warn',
            msg: 'cannot tell how the container ended',
            data: { err: serializeError(error) },
          });
          return 'unknown';
        }
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }

  private stillRuns(state: ContainerState | null): boolean {
    return state !== null && (state.status === 'running' || state.status === 'paused');
  }

  /**
   * One metrics sample: from the container's cgroup files when it has a cgroup of its own (no
   * process started: see cgroup-stats.ts), else from the runtime's `stats` command.
   */
  private async sampleMetrics(): Promise<StatsSample | null> {
    const { containerName } = this.spec;
    if (this.cgroup === undefined) {
      const found = this.engine.local
        ? await openContainerCgroup(this.engine, containerName, this.startedAt ?? this.clock.now()).catch(
            () => 'not-running' as const,
          )
        : null;
      if (found === 'not-running') {
        // Not running yet (a slow start) or not inspectable: look again at the next samples.
        if (++this.cgroupLookups < CGROUP_LOOKUPS) return this.engine.stats(containerName);
        this.cgroup = null;
      } else {
        this.cgroup = found;
        if (found) this.markStarted(this.clock.now());
      }
      this.post({
        type: 'log',
        jobId: this.spec.jobId,
        level: 'debug',
        msg: this.cgroup ? 'metrics from the container cgroup' : 'metrics from the runtime stats command',
      });
    }
    if (this.cgroup) return this.cgroup.sample(this.clock.now());
    return this.engine.stats(containerName);
  }

  private scheduleMetrics(): void {
    const tick = async () => {
      this.metricsTimer = null;
      if (this.ending) return;
      const sample = await this.sampleMetrics().catch(() => null);
      if (sample) {
        const now = this.clock.now();
        this.metrics = { ...sample, sampledAt: now, source: this.cgroup ? 'cgroup' : 'stats' };
        if (sample.cpuPercent >= PROCESSING_CPU_PERCENT) this.lastBusyAt = now;
      }
      await this.checkDisk();
      if (!this.ending) {
        this.scheduleProgress();
        this.metricsTimer = this.clock.setTimeout(() => void tick(), this.spec.metricsIntervalMs);
      }
    };
    this.metricsTimer = this.clock.setTimeout(() => void tick(), Math.min(1000, this.spec.metricsIntervalMs));
  }

  private scheduleProgress(): void {
    if (this.progressDue || this.ending) return;
    this.progressDue = true;
    this.ticker.request(this.emitProgress, this.spec.progressIntervalMs);
  }

  private readonly emitProgress = (): void => {
    this.progressDue = false;
    if (!this.ending) this.post({ type: 'progress', jobId: this.spec.jobId, progress: this.progress() });
  };

  private progress(): JobProgress {
    const store = this.store;
    return {
      outputSize: store?.size ?? 0,
      tailOutput: store?.tail() ?? '',
      firstOutputAt: this.firstOutputAt,
      lastOutputAt: this.lastOutputAt,
      lines: this.ingest?.lines ?? 0,
      events: this.ingest?.events ?? 0,
      truncated: store?.truncated ?? false,
      linesCut: this.ingest?.linesCut ?? 0,
      activityState: activityOf(this.lastOutputAt, this.metrics, this.clock.now()),
      metrics: this.metrics,
      claude: { ...(this.ingest?.report ?? emptyClaudeReport()) },
    };
  }

  private stopTimers(): void {
    this.ending = true;
    this.watchdog?.stop();
    if (this.metricsTimer !== null) this.clock.clearTimeout(this.metricsTimer);
    if (this.progressDue) this.ticker.cancel(this.emitProgress);
    this.progressDue = false;
  }

  /** Detached (or cancelled) before the supervisor said launch: nothing ran. */
  private notLaunched(): JobOutcome {
    this.ending = true;
    const endedAt = this.clock.now();
    if (this.cancelled) {
      return {
        status: 'cancelled',
        exitCode: null,
        error: serializeError(new ClaudePodError(ErrorCodes.CANCELLED, 'Job cancelled')),
        progress: this.progress(),
        endedAt,
      };
    }
    return { status: 'detached', exitCode: null, error: null, progress: this.progress(), endedAt };
  }

  private async finish(
    state: ContainerState | null | 'unknown',
    end: { exitCode: number | null; signal: string | null; spawnError: string | null; stderrTail: string },
  ): Promise<JobOutcome> {
    this.stopTimers();
    this.stderrTail = end.stderrTail;
    const endedAt = this.clock.now();
    if (this.detached && !this.cancelled && this.timedOut === null) {
      return { status: 'detached', exitCode: null, error: null, progress: this.progress(), endedAt };
    }
    if (end.spawnError && state !== 'unknown' && state === null) {
      const error = new ClaudePodError(
        ErrorCodes.RUNTIME_MISSING,
        `Could not run the container runtime "${this.spec.runtime.command}": ${end.spawnError}`,
      );
      return {
        status: 'failed',
        exitCode: null,
        error: serializeError(error),
        progress: this.progress(),
        endedAt,
      };
    }
    if (state === 'unknown' || (state !== null && this.stillRuns(state))) {
      // We cannot tell how (or whether) it ended: the supervisor keeps the job and looks again.
      return { status: 'unknown', exitCode: null, error: null, progress: this.progress(), endedAt };
    }
    // Exit codes come from the engine's record of the container; for a `run` whose container is
    // already gone, the client's own exit code (it is the container's) when it exited normally.
    const containerExit =
      state !== null && state.status === 'exited'
        ? state.exitCode
        : state === null && this.spec.mode === 'run' && end.signal === null
          ? end.exitCode
          : null;
    const classified = classifyExit({
      image: this.spec.image,
      exitCode: containerExit,
      signal: end.signal,
      cancelled: this.cancelled,
      timedOut: this.timedOut,
      startupTimeoutSeconds: this.spec.startupTimeoutSeconds,
      idleTimeoutSeconds: this.spec.idleTimeoutSeconds,
      oomKilled: state?.oomKilled === true,
      diskFull: this.diskFull
        ? { ...this.diskFull, killed: true }
        : await this.disk.check().then((full) => (full ? { ...full, killed: false } : null)),
      containerLost: state === null && containerExit === null,
      sawResult: this.ingest?.sawResult === true,
      report: this.ingest?.report ?? emptyClaudeReport(),
      stderrTail: this.stderrTail,
    });
    let release = false;
    if (this.remote) {
      this.remote.stopTunnel();
      const synced = await this.remote.copyBack();
      release = synced.ok;
      if (!synced.ok && synced.unknown) {
        // The engine did not answer: keep the container (and its volumes) and look again later.
        return { status: 'unknown', exitCode: null, error: null, progress: this.progress(), endedAt };
      }
      if (!synced.ok && classified.status === 'completed') {
        await this.removeContainer();
        return {
          status: 'failed',
          exitCode: containerExit,
          error: synced.error,
          progress: this.progress(),
          endedAt,
        };
      }
    }
    await this.removeContainer();
    // Copied back: this host's directory holds it all again and the next job seeds anew.
    if (release) await this.remote?.releaseVolumes();
    return {
      status: classified.status,
      exitCode: containerExit,
      error: classified.error,
      progress: this.progress(),
      endedAt,
    };
  }
}
