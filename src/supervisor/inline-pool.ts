import type { ContainerEngine } from '../runtime/engine.js';
import type { JobOutcome, JobSpec, SupervisorMessage } from '../shared/protocol.js';
import { JobRunner, type JobRunnerOptions } from '../workers/job-runner.js';
import type { JobPoolLike, SubmittedJob } from './pool.js';

/**
 * The very same JobRunner (parsing, timers, output writing) on the main thread instead of a
 * worker thread: the benchmark's baseline (the design we rejected), and the host of the
 * model-based tests, whose in-memory engine cannot cross a thread boundary. Never used in
 * production.
 */
export class InlineJobPool implements JobPoolLike {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  /** Tasks by job id, so a test can make one "crash" as a dying worker thread would. */
  private readonly crashers = new Map<string, (error: Error) => void>();

  constructor(
    private readonly size: number,
    /** The engine every job uses (tests); by default each runner builds one from its spec. */
    private readonly engine?: ContainerEngine,
    private readonly runnerOptions: Omit<JobRunnerOptions, 'engine'> = {},
  ) {}

  /**
   * Test hook: the job's task fails as if its worker thread died. Its runner is abandoned where
   * it stood (a dead thread does nothing more) and stops following; its container is left as is.
   */
  crash(jobId: string): boolean {
    const crash = this.crashers.get(jobId);
    crash?.(new Error('injected worker crash'));
    return crash !== undefined;
  }

  submit(spec: JobSpec, onMessage: (message: unknown) => void, signal: AbortSignal): SubmittedJob {
    let runner: JobRunner | null = null;
    const done = new Promise<JobOutcome>((resolve, reject) => {
      const begin = () => {
        if (signal.aborted) {
          reject(new Error('aborted'));
          this.next();
          return;
        }
        this.running++;
        let dead = false;
        runner = new JobRunner(spec, (m) => !dead && onMessage(m), {
          ...this.runnerOptions,
          ...(this.engine ? { engine: this.engine } : {}),
        });
        this.crashers.set(spec.jobId, (error) => {
          dead = true;
          runner?.abandon();
          reject(error);
        });
        runner
          .run()
          .then((outcome) => {
            onMessage({ type: 'ended', jobId: spec.jobId, outcome });
            resolve(outcome);
          }, reject)
          .finally(() => {
            this.crashers.delete(spec.jobId);
            this.running--;
            this.next();
          });
      };
      signal.addEventListener('abort', () => {
        const at = this.queue.indexOf(begin);
        if (at >= 0) this.queue.splice(at, 1);
        // As piscina does for a task already running (it ends the thread): the task fails, and
        // the runner, which has launched nothing before the supervisor's `launch`, stops.
        runner?.handle({ type: 'detach', jobId: spec.jobId });
        reject(new Error('aborted'));
      });
      // Asynchronously, as a worker would: the caller has its handle before the first message.
      if (this.running < this.size) {
        this.running++;
        setImmediate(() => {
          this.running--;
          begin();
        });
      } else this.queue.push(begin);
    });
    const send = (message: SupervisorMessage) => runner?.handle(message);
    return { done, send };
  }

  private next(): void {
    if (this.running >= this.size) return;
    this.queue.shift()?.();
  }

  get queueSize(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.queue.length = 0;
  }
}
