import { execa, type ResultPromise } from 'execa';
import { openContainerCgroup, type CgroupStats } from '../runtime/cgroup-stats.js';
import {
  inspectContainer,
  removeContainer,
  sampleStats,
  signalContainer,
  type StatsSample,
} from '../runtime/container-cli.js';
import { ClaudePodError, ErrorCodes, serializeError } from '../shared/errors.js';
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
import { systemClock, type Clock } from './clock.js';
import { OutputStore } from './output-store.js';
import { StreamIngest } from './stream-ingest.js';
import { OutputWatchdog, type TimerKind } from './timers.js';

const STDERR_TAIL_BYTES = 4096;
/** Metrics samples that look for the container's cgroup before settling for `stats`. */
const CGROUP_LOOKUPS = 5;
/** Output within this many seconds makes a job "active". */
export const ACTIVE_WINDOW_MS = 5_000;
/** CPU use above this makes a quiet job "processing" rather than "idle". */
export const PROCESSING_CPU_PERCENT = 5;

export function activityOf(
  lastOutputAt: number | null,
  metrics: JobMetrics | null,
  now: number,
): ActivityState {
  if (lastOutputAt !== null && now - lastOutputAt < ACTIVE_WINDOW_MS) return 'active';
  if (metrics && metrics.cpuPercent >= PROCESSING_CPU_PERCENT) return 'processing';
  return 'idle';
}

/**
 * One job, from container start (or re-attach after a supervisor restart) to its outcome. It is
 * independent of piscina so the benchmark's inline baseline can run the very same code on the
 * main thread; in production it runs inside a worker thread (job-worker.ts).
 */
export class JobRunner {
  private store: OutputStore | null = null;
  private ingest: StreamIngest | null = null;
  private child: ResultPromise | null = null;
  private watchdog: OutputWatchdog | null = null;
  private metricsTimer: unknown = null;
  private progressTimer: unknown = null;
  private metrics: JobMetrics | null = null;
  /** undefined until the first sample looks for it; null: use the runtime's `stats`. */
  private cgroup: CgroupStats | null | undefined = undefined;
  private cgroupLookups = 0;
  private startedAt: number | null = null;
  private firstOutputAt: number | null = null;
  private lastOutputAt: number | null = null;
  private stderrTail = '';
  private cancelled = false;
  private detached = false;
  private timedOut: TimerKind | null = null;
  private ending = false;

  constructor(
    private readonly spec: JobSpec,
    private readonly post: (message: WorkerMessage) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  async run(): Promise<JobOutcome> {
    const { spec } = this;
    this.post({ type: 'ready', jobId: spec.jobId });
    this.store = OutputStore.open(spec.outputPath, { maxOutputSize: spec.maxOutputSize });
    this.ingest = new StreamIngest(this.store, { maxLineBytes: spec.maxLineBytes });
    const args =
      spec.mode === 'run'
        ? [...spec.runtime.globalArgs, ...spec.runArgs]
        : [...spec.runtime.globalArgs, 'logs', '--follow', spec.containerName];
    const child = execa(spec.runtime.command, args, {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      // The container outlives this process by design; the runtime client is ours to stop.
      cleanup: true,
      encoding: 'buffer',
    });
    this.child = child;
    this.startedAt = this.clock.now();
    this.post({
      type: 'started',
      jobId: spec.jobId,
      containerName: spec.containerName,
      at: this.startedAt,
    });

    this.watchdog = new OutputWatchdog(
      this.clock,
      spec.startupTimeoutSeconds * 1000,
      spec.idleTimeoutSeconds * 1000,
      (kind) => void this.onTimeout(kind),
    );
    this.watchdog.start();
    this.scheduleMetrics();

    child.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });

    const result = await child;
    this.ingest.end();
    return this.finish(
      typeof result.exitCode === 'number' ? result.exitCode : null,
      result.signal ?? null,
      result.failed && result.exitCode === undefined ? String(result.shortMessage ?? '') : '',
    );
  }

  /** A message from the supervisor. */
  handle(message: SupervisorMessage): void {
    switch (message.type) {
      case 'cancel':
        void this.cancel();
        break;
      case 'detach':
        this.detach();
        break;
      default:
        assertNever(message, 'supervisor message');
    }
  }

  /** SIGINT to Claude Code, a grace period, then the container is killed and removed. */
  async cancel(graceMs = this.spec.cancelGraceMs): Promise<void> {
    if (this.cancelled || this.ending) return;
    this.cancelled = true;
    await signalContainer(this.spec.runtime, this.spec.containerName, 'SIGINT');
    await new Promise<void>((resolve) => {
      const handle = this.clock.setTimeout(resolve, graceMs);
      this.child?.finally(() => {
        this.clock.clearTimeout(handle);
        resolve();
      });
    });
    if (!this.ending) await removeContainer(this.spec.runtime, this.spec.containerName);
  }

  /** Stop following and leave the container running: a later supervisor re-attaches to it. */
  detach(): void {
    if (this.ending) return;
    this.detached = true;
    this.child?.kill('SIGTERM');
  }

  private onStdout(chunk: Buffer): void {
    const now = this.clock.now();
    this.firstOutputAt ??= now;
    this.lastOutputAt = now;
    this.watchdog?.outputSeen();
    this.ingest?.push(chunk);
    this.scheduleProgress();
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
    await removeContainer(this.spec.runtime, this.spec.containerName);
  }

  /**
   * One metrics sample: from the container's cgroup files when it has a cgroup of its own (no
   * process started: see cgroup-stats.ts), else from the runtime's `stats` command.
   */
  private async sampleMetrics(): Promise<StatsSample | null> {
    const { runtime, containerName } = this.spec;
    if (this.cgroup === undefined) {
      const found = await openContainerCgroup(runtime, containerName, this.startedAt ?? this.clock.now());
      if (found === 'not-running') {
        // Not running yet (a slow start) or not inspectable: look again at the next samples.
        if (++this.cgroupLookups < CGROUP_LOOKUPS) return sampleStats(runtime, containerName);
        this.cgroup = null;
      } else {
        this.cgroup = found;
      }
      this.post({
        type: 'log',
        jobId: this.spec.jobId,
        level: 'debug',
        msg: this.cgroup ? 'metrics from the container cgroup' : 'metrics from the runtime stats command',
      });
    }
    if (this.cgroup) return this.cgroup.sample(this.clock.now());
    return sampleStats(runtime, containerName);
  }

  private scheduleMetrics(): void {
    const tick = async () => {
      this.metricsTimer = null;
      if (this.ending) return;
      const sample = await this.sampleMetrics();
      if (sample) {
        this.metrics = { ...sample, sampledAt: this.clock.now(), source: this.cgroup ? 'cgroup' : 'stats' };
      }
      if (!this.ending) {
        this.scheduleProgress();
        this.metricsTimer = this.clock.setTimeout(() => void tick(), this.spec.metricsIntervalMs);
      }
    };
    this.metricsTimer = this.clock.setTimeout(() => void tick(), Math.min(1000, this.spec.metricsIntervalMs));
  }

  private scheduleProgress(): void {
    if (this.progressTimer !== null || this.ending) return;
    this.progressTimer = this.clock.setTimeout(() => {
      this.progressTimer = null;
      if (!this.ending) this.post({ type: 'progress', jobId: this.spec.jobId, progress: this.progress() });
    }, this.spec.progressIntervalMs);
  }

  private progress(): JobProgress {
    const store = this.store;
    return {
      outputSize: store?.size ?? 0,
      tailOutput: store?.tail() ?? '',
      firstOutputAt: this.firstOutputAt,
      lastOutputAt: this.lastOutputAt,
      lines: this.ingest?.lines ?? 0,
      linesCut: this.ingest?.linesCut ?? 0,
      events: this.ingest?.events ?? 0,
      truncated: store?.truncated ?? false,
      activityState: activityOf(this.lastOutputAt, this.metrics, this.clock.now()),
      metrics: this.metrics,
      claude: { ...(this.ingest?.report ?? emptyClaudeReport()) },
    };
  }

  private async finish(
    exitCode: number | null,
    signal: string | null,
    spawnError: string,
  ): Promise<JobOutcome> {
    this.ending = true;
    this.watchdog?.stop();
    if (this.metricsTimer !== null) this.clock.clearTimeout(this.metricsTimer);
    if (this.progressTimer !== null) this.clock.clearTimeout(this.progressTimer);
    this.store?.close();
    const endedAt = this.clock.now();

    if (this.detached) {
      return { status: 'detached', exitCode: null, error: null, progress: this.progress(), endedAt };
    }
    if (spawnError) {
      const error = new ClaudePodError(
        ErrorCodes.RUNTIME_MISSING,
        `Could not run the container runtime "${this.spec.runtime.command}": ${spawnError}`,
      );
      return {
        status: 'failed',
        exitCode: null,
        error: serializeError(error),
        progress: this.progress(),
        endedAt,
      };
    }

    // The runtime client's exit code is the container's, but OOM and a re-attached container's
    // real exit status come from inspect.
    const state = await inspectContainer(this.spec.runtime, this.spec.containerName);
    // A re-attached container's exit code is only known from inspect (the client was `logs`).
    const containerExit =
      this.spec.mode === 'attach' ? (state?.exitCode ?? null) : (state?.exitCode ?? exitCode);

    const classified = classifyExit({
      image: this.spec.image,
      exitCode: containerExit,
      signal,
      cancelled: this.cancelled,
      timedOut: this.timedOut,
      startupTimeoutSeconds: this.spec.startupTimeoutSeconds,
      idleTimeoutSeconds: this.spec.idleTimeoutSeconds,
      oomKilled: state?.oomKilled === true,
      containerLost: this.spec.mode === 'attach' && state === null,
      sawResult: this.ingest?.sawResult === true,
      report: this.ingest?.report ?? emptyClaudeReport(),
      stderrTail: this.stderrTail,
    });
    await removeContainer(this.spec.runtime, this.spec.containerName);
    return {
      status: classified.status,
      exitCode: containerExit,
      error: classified.error,
      progress: this.progress(),
      endedAt,
    };
  }
}
