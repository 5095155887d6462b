import type { ContainerEngine } from '../runtime/engine.js';
import { defaultWorkerThreads } from '../shared/config.js';
import type { JobSpec, SupervisorMessage } from '../shared/protocol.js';
import { ActorHost, type JobPort } from '../workers/actor-host.js';
import type { JobRunnerOptions } from '../workers/job-runner.js';
import { ActorPool, type StartedHost } from './actor-pool.js';
import type { JobPoolLike, SubmittedJob } from './pool.js';

interface InlineHost {
  host: ActorHost;
  dead: boolean;
  die: (error: Error) => void;
}

/**
 * The very same actor hosts, placement and JobRunner (parsing, timers, output writing) on the
 * main thread instead of worker threads: the benchmark's baseline (the design we rejected), and
 * the host of the model-based tests, whose in-memory engine cannot cross a thread boundary. Its
 * "threads" are hosts on the main thread, so a test can make one die with every job it hosts.
 * Never used in production.
 */
export class InlineJobPool implements JobPoolLike {
  private readonly pool: ActorPool;
  private readonly hosts = new Map<number, InlineHost>();

  constructor(
    size: number,
    /** The engine every job uses (tests); by default each runner builds one from its spec. */
    private readonly engine?: ContainerEngine,
    private readonly runnerOptions: Omit<JobRunnerOptions, 'engine' | 'ticker'> = {},
    /** Hosts ("threads") at most; default as for worker threads. */
    threads = defaultWorkerThreads(size),
  ) {
    this.pool = new ActorPool((id, report) => this.startHost(id, report), {
      maxJobs: size,
      threads: Math.min(threads, size),
    });
  }

  /**
   * Test hook: the job's host dies as a worker thread would, with every job it hosts. Their
   * runners are abandoned where they stood (a dead thread does nothing more) and stop following;
   * their containers are left as they are. False when the job is not running on a host.
   */
  crash(jobId: string): boolean {
    const id = this.pool.hostOf(jobId);
    const inline = id === null ? undefined : this.hosts.get(id);
    if (!inline || inline.dead) return false;
    inline.dead = true;
    this.hosts.delete(id!);
    inline.host.abandonAll();
    inline.die(new Error('injected worker crash'));
    return true;
  }

  submit(spec: JobSpec, onMessage: (message: unknown) => void, signal: AbortSignal): SubmittedJob {
    return this.pool.submit(spec, onMessage, signal);
  }

  get queueSize(): number {
    return this.pool.queueSize;
  }

  get threads(): number {
    return this.pool.threads;
  }

  hostOf(jobId: string): number | null {
    return this.pool.hostOf(jobId);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private startHost(id: number, report: (raw: unknown) => void): StartedHost {
    let retired!: () => void;
    let die!: (error: Error) => void;
    const ended = new Promise<void>((resolve, reject) => {
      retired = resolve;
      die = reject;
    });
    const inline: InlineHost = {
      host: new ActorHost((r) => !inline.dead && report(r), {
        ...this.runnerOptions,
        ...(this.engine ? { engine: this.engine } : {}),
      }),
      dead: false,
      die,
    };
    this.hosts.set(id, inline);
    return {
      ended,
      link: {
        place(key, spec, onMessage) {
          const port = inlinePort(() => inline.dead, onMessage);
          // Asynchronously, as on a worker: the caller has its handle before the first message.
          setImmediate(() => !inline.dead && inline.host.host(key, spec, port.worker));
          return { send: port.send, close: () => undefined };
        },
        retire: () => {
          void inline.host.retire().then(() => {
            this.hosts.delete(id);
            retired();
          });
        },
      },
    };
  }
}

/** Both ends of a job's channel on one thread: messages are delivered synchronously. */
function inlinePort(
  dead: () => boolean,
  onMessage: (message: unknown) => void,
): { worker: JobPort; send: (message: SupervisorMessage) => void } {
  let handler: ((raw: unknown) => void) | null = null;
  const early: SupervisorMessage[] = [];
  return {
    worker: {
      post: (message) => !dead() && onMessage(message),
      onMessage: (h) => {
        handler = h;
        for (const message of early.splice(0)) h(message);
      },
      close: () => undefined,
    },
    send: (message) => {
      if (dead()) return;
      if (handler) handler(message);
      else early.push(message);
    },
  };
}
