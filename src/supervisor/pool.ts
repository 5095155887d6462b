import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { defaultWorkerThreads } from '../shared/config.js';
import type { HostCommand, HostTask, JobOutcome, JobSpec, SupervisorMessage } from '../shared/protocol.js';
import { ActorPool, type StartedHost } from './actor-pool.js';

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

export interface JobPoolOptions {
  /** Jobs running at once (maxConcurrentJobs). */
  maxJobs: number;
  /** Worker threads at most (default: see defaultWorkerThreads). */
  threads?: number;
  /** A thread without jobs ends after this long (default 20 s); until then the next job reuses it. */
  idleThreadMs?: number;
}

/**
 * The worker pool: a bounded set of piscina threads, each running one actor host (job-worker.ts)
 * for as long as it hosts jobs; jobs are placed on them by the pool's own rules (actor-pool.ts).
 *
 * Why placement of our own rather than piscina's `concurrentTasksPerWorker`: piscina ends a
 * thread when a running task's AbortSignal fires, which would kill every other job on it (and the
 * supervisor's abort of a job it believes queued can race the thread picking it up); its balancer
 * counts tasks, not bytes per second; its capacity is threads × tasks-per-thread, not the exact
 * number of running jobs; and coalescing progress needs a channel per thread anyway. Piscina still
 * starts, reuses and retires the threads and fails the task of a thread that dies.
 *
 * A host's task lasts while it has jobs: an idle pool has no task running, so it keeps no process
 * alive, and its threads end after `idleThreadMs` (until then a new host reuses one).
 */
export class JobPool implements JobPoolLike {
  private readonly piscina: Piscina<HostTask, void>;
  private readonly pool: ActorPool;

  constructor(options: JobPoolOptions | number) {
    const { maxJobs, threads, idleThreadMs } = typeof options === 'number' ? { maxJobs: options } : options;
    const size = Math.min(threads ?? defaultWorkerThreads(maxJobs), maxJobs);
    const { filename, execArgv } = workerEntry();
    this.piscina = new Piscina<HostTask, void>({
      filename,
      execArgv,
      minThreads: 0,
      maxThreads: size,
      // A host holds its thread for as long as it has jobs; atomics would only add wake-ups.
      atomics: 'disabled',
      // A host ends with its last job; its thread waits this long for the next one, then goes.
      idleTimeout: idleThreadMs ?? 20_000,
      concurrentTasksPerWorker: 1,
    });
    // A thread that fails with no task of its own (after its host retired): nothing to fail.
    this.piscina.on('error', () => undefined);
    this.pool = new ActorPool((_id, report) => this.startHost(report), { maxJobs, threads: size });
  }

  submit(spec: JobSpec, onMessage: (message: unknown) => void, signal: AbortSignal): SubmittedJob {
    return this.pool.submit(spec, onMessage, signal);
  }

  get queueSize(): number {
    return this.pool.queueSize;
  }

  /** Threads hosting jobs now. */
  get threads(): number {
    return this.pool.threads;
  }

  /** Which thread (host id, in start order) each running job is on. */
  placement(): Array<{ host: number; jobs: string[] }> {
    return this.pool.placement();
  }

  hostOf(jobId: string): number | null {
    return this.pool.hostOf(jobId);
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.piscina.destroy();
  }

  /** One piscina task: a host on a thread, and the thread's own channel to it. */
  private startHost(report: (raw: unknown) => void): StartedHost {
    const { port1: control, port2 } = new MessageChannel();
    control.on('message', report);
    control.unref();
    const command = (message: HostCommand, transfer: MessagePort[] = []) =>
      control.postMessage(message, transfer);
    const ended = this.piscina.run({ control: port2 }, { transferList: [port2] });
    void ended.then(
      () => control.close(),
      // Reports the thread sent before it died are still delivered: close after them.
      () => setImmediate(() => control.close()),
    );
    return {
      ended,
      link: {
        place(key, spec, onMessage) {
          const { port1: mine, port2: theirs } = new MessageChannel();
          mine.on('message', onMessage);
          mine.unref();
          command({ type: 'host', key, spec, port: theirs }, [theirs]);
          return { send: (message) => mine.postMessage(message), close: () => mine.close() };
        },
        retire: () => command({ type: 'retire' }),
      },
    };
  }
}

/** dist/ runs the compiled worker; a source checkout (tests) runs the .ts through tsx. */
function workerEntry(): { filename: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('../workers/job-worker.js', import.meta.url));
  if (existsSync(js)) return { filename: js, execArgv: [] };
  return { filename: fileURLToPath(new URL('../workers/job-worker.dev.mjs', import.meta.url)), execArgv: [] };
}
