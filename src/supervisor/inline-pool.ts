import type { JobOutcome, JobSpec, SupervisorMessage } from '../shared/protocol.js';
import { JobRunner } from '../workers/job-runner.js';
import type { JobPoolLike, SubmittedJob } from './pool.js';

/**
 * The design we rejected, kept only as the benchmark's baseline: the very same JobRunner
 * (parsing, timers, output writing) on the main thread instead of a worker thread. Never used
 * unless `createSupervisor(..., { inlineJobsForBenchmark: true })` asks for it.
 */
export class InlineJobPool implements JobPoolLike {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly size: number) {}

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
        runner = new JobRunner(spec, (m) => onMessage(m));
        runner
          .run()
          .then((outcome) => {
            onMessage({ type: 'ended', jobId: spec.jobId, outcome });
            resolve(outcome);
          }, reject)
          .finally(() => {
            this.running--;
            this.next();
          });
      };
      signal.addEventListener('abort', () => {
        const at = this.queue.indexOf(begin);
        if (at >= 0) {
          this.queue.splice(at, 1);
          reject(new Error('aborted'));
        }
      });
      if (this.running < this.size) begin();
      else this.queue.push(begin);
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
