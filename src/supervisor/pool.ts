import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { JobOutcome, JobSpec, JobTask, SupervisorMessage } from '../shared/protocol.js';

export interface SubmittedJob {
  done: Promise<JobOutcome>;
  send: (message: SupervisorMessage) => void;
}

/** What the supervisor needs of a pool (the worker pool, or the benchmark's inline baseline). */
export interface JobPoolLike {
  submit(spec: JobSpec, onMessage: (message: unknown) => void, signal: AbortSignal): SubmittedJob;
  readonly queueSize: number;
  close(): Promise<void>;
}

/**
 * The worker pool: one piscina thread per running job, so the pool size is the concurrency limit
 * and piscina's queue is what "pending" means. Each job gets its own MessageChannel; the port
 * that stays here receives the worker's messages.
 */
export class JobPool implements JobPoolLike {
  private readonly piscina: Piscina<JobTask, JobOutcome>;

  constructor(size: number) {
    const { filename, execArgv } = workerEntry();
    this.piscina = new Piscina<JobTask, JobOutcome>({
      filename,
      execArgv,
      minThreads: 0,
      maxThreads: size,
      // A job holds its thread for minutes; atomics would only add wake-ups.
      atomics: 'disabled',
      idleTimeout: 30_000,
      concurrentTasksPerWorker: 1,
    });
  }

  /** Queue a job; `onMessage` gets every message from its worker. */
  submit(spec: JobSpec, onMessage: (message: unknown) => void, signal: AbortSignal): SubmittedJob {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', onMessage);
    port1.unref();
    const done = this.piscina
      .run({ spec, port: port2 as MessagePort }, { transferList: [port2], signal })
      .finally(() => {
        // Let queued port messages drain before closing our side.
        setImmediate(() => port1.close());
      });
    return { done, send: (message) => port1.postMessage(message) };
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}

/** dist/ runs the compiled worker; a source checkout (tests) runs the .ts through tsx. */
function workerEntry(): { filename: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('../workers/job-worker.js', import.meta.url));
  if (existsSync(js)) return { filename: js, execArgv: [] };
  return { filename: fileURLToPath(new URL('../workers/job-worker.dev.mjs', import.meta.url)), execArgv: [] };
}
