/**
 * The actors of one thread. Each job is an actor: its own JobRunner (container client, parser,
 * timers, output file) and its own port to the supervisor; nothing is shared between jobs but
 * the thread and one progress tick. The host starts an actor per job it is handed, relays the
 * supervisor's messages to it, and reports to the pool on the thread's own channel: how each job
 * ended, and once per tick the progress of every job that changed (one message, not one per job).
 *
 * It runs in a worker thread (job-worker.ts) and, for the inline baseline and the model-based
 * tests, on the main thread (inline-pool.ts): the same code both ways.
 */
import { serializeError } from '../shared/errors.js';
import {
  supervisorMessageSchema,
  type HostReport,
  type JobSpec,
  type ProgressEntry,
  type WorkerMessage,
} from '../shared/protocol.js';
import { systemClock, type Clock } from './clock.js';
import { JobRunner, type JobRunnerOptions } from './job-runner.js';
import { SharedTicker } from './progress-ticker.js';

/** The worker's end of a job's own channel. */
export interface JobPort {
  post(message: WorkerMessage): void;
  onMessage(handler: (raw: unknown) => void): void;
  close(): void;
}

export interface ActorHostOptions extends Omit<JobRunnerOptions, 'ticker'> {
  /** Called for each job as its actor starts (fault injection in tests). */
  onJob?: (spec: JobSpec, post: (message: WorkerMessage) => void) => void;
}

interface Actor {
  runner: JobRunner;
  port: JobPort;
}

export class ActorHost {
  private readonly actors = new Map<number, Actor>();
  private readonly ticker: SharedTicker;
  /** The progress messages of the tick being run (null outside a tick). */
  private batch: ProgressEntry[] | null = null;
  private retiring: (() => void) | null = null;
  private readonly clock: Clock;

  constructor(
    private readonly report: (message: HostReport) => void,
    private readonly options: ActorHostOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.ticker = new SharedTicker(this.clock, (runDue) => this.tick(runDue));
  }

  get size(): number {
    return this.actors.size;
  }

  /** Starts the job's actor. */
  host(key: number, spec: JobSpec, port: JobPort): void {
    const post = (message: WorkerMessage) => this.post(key, port, message);
    const { onJob: _onJob, ...runnerOptions } = this.options;
    let runner: JobRunner;
    try {
      runner = new JobRunner(spec, post, { ...runnerOptions, ticker: this.ticker });
    } catch (error) {
      this.report({ type: 'failed', key, error: serializeError(error) });
      port.close();
      return;
    }
    this.actors.set(key, { runner, port });
    port.onMessage((raw) => {
      const parsed = supervisorMessageSchema.safeParse(raw);
      if (!parsed.success) {
        post({ type: 'log', jobId: spec.jobId, level: 'error', msg: 'invalid message from supervisor' });
        return;
      }
      runner.handle(parsed.data);
    });
    this.options.onJob?.(spec, post);
    runner.run().then(
      (outcome) => {
        port.post({ type: 'ended', jobId: spec.jobId, outcome });
        this.ended(key, { type: 'settled', key, outcome });
      },
      (error: unknown) => {
        const serialized = serializeError(error);
        port.post({ type: 'error', jobId: spec.jobId, error: serialized });
        this.ended(key, { type: 'failed', key, error: serialized });
      },
    );
  }

  /** Resolves once the host has no actors left (the pool places no more jobs here). */
  retire(): Promise<void> {
    if (this.actors.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.retiring = resolve));
  }

  /** Stops every actor where it stands, saying nothing more (the inline host's "thread died"). */
  abandonAll(): void {
    for (const { runner } of this.actors.values()) runner.abandon();
    this.actors.clear();
  }

  private post(key: number, port: JobPort, message: WorkerMessage): void {
    if (message.type === 'progress' && this.batch) {
      const actor = this.actors.get(key);
      this.batch.push({ key, bytesIn: actor?.runner.bytesIn ?? 0, message });
      return;
    }
    port.post(message);
  }

  /** One tick: every due runner posts its snapshot into the batch, which goes out as one report. */
  private tick(runDue: () => void): void {
    const batch: ProgressEntry[] = [];
    this.batch = batch;
    try {
      runDue();
    } finally {
      this.batch = null;
    }
    if (batch.length > 0) this.report({ type: 'progressBatch', entries: batch });
  }

  private ended(key: number, report: HostReport): void {
    const actor = this.actors.get(key);
    if (!actor) return; // abandoned
    this.actors.delete(key);
    this.report(report);
    actor.port.close();
    if (this.actors.size === 0 && this.retiring) {
      const resolve = this.retiring;
      this.retiring = null;
      resolve();
    }
  }
}
