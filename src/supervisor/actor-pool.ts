/**
 * Jobs as actors on a bounded set of hosts (worker threads, or virtual ones on the main thread).
 * The supervisor's view is one job at a time: `submit` → `{done, send}`, its messages through
 * `onMessage`. Underneath:
 *
 * - **Queue.** Exactly `maxJobs` jobs run at once; the rest wait here, in order. A queued job that
 *   is aborted leaves the queue; a job already handed to a host is told to stop (`detach`: it has
 *   launched nothing yet) and its task fails at once. No thread is ever terminated for an abort,
 *   so thread-mates never notice.
 * - **Placement.** A job goes to an empty host if there is one; else to a new host while there are
 *   fewer than `threads`; else to the host with the least output per second (recent bytes of its
 *   jobs, decaying), then the fewest jobs.
 * - **Progress.** A host sends its jobs' progress as one message per tick; the pool hands each
 *   entry to its job's `onMessage`, as if it had come on the job's own port.
 * - **Faults.** A host that dies fails its own jobs (their tasks reject: WORKER_CRASHED) and only
 *   those; the next placement starts a new host in its place.
 * - **Idle.** A host left without jobs is retired (after `retireAfterMs`, by default as soon as
 *   the jobs waiting here have been placed): its task ends, so an idle pool holds nothing and keeps
 *   no process alive. Its thread stays warm for the next host (the worker pool keeps idle threads
 *   for a while, then ends them and their memory goes back).
 */
import { deserializeError } from '../shared/errors.js';
import {
  assertNever,
  hostReportSchema,
  type JobOutcome,
  type JobSpec,
  type ProgressEntry,
  type SupervisorMessage,
} from '../shared/protocol.js';
import type { JobPoolLike, SubmittedJob } from './pool.js';

/** One host as the pool drives it. */
export interface HostLink {
  /** Hands the job to the host; returns how to reach the job's actor. */
  place(key: number, spec: JobSpec, onMessage: (message: unknown) => void): JobLink;
  /** No more jobs will come: the host ends once its last actor has. */
  retire(): void;
}

export interface JobLink {
  send(message: SupervisorMessage): void;
  /** The job is settled: release the pool's end of its channel. */
  close(): void;
}

export interface StartedHost {
  link: HostLink;
  /** Resolves when the host has retired; rejects when it died (its thread crashed or exited). */
  ended: Promise<void>;
}

/** Starts host `id`: `report` receives every report of the new host, unvalidated. */
export type StartHost = (id: number, report: (raw: unknown) => void) => StartedHost;

export interface ActorPoolOptions {
  /** Jobs running at once (maxConcurrentJobs). */
  maxJobs: number;
  /** Hosts (threads) at most. */
  threads: number;
  /** An empty host is retired after this long (default 0: on the next turn). */
  retireAfterMs?: number;
  now?: () => number;
}

/** How fast a job's output rate forgets the past (ms). */
const RATE_TAU_MS = 2_000;
/** Threads whose output rates differ by less than this (bytes/s) count as equally loaded. */
const LOAD_TOLERANCE = 4 * 1024;

interface Host {
  id: number;
  link: HostLink;
  jobs: Set<Entry>;
  retireTimer: NodeJS.Timeout | null;
}

interface Entry {
  key: number;
  spec: JobSpec;
  onMessage: (message: unknown) => void;
  resolve: (outcome: JobOutcome) => void;
  reject: (error: Error) => void;
  /** The task's promise has settled (the supervisor knows); the actor may still be winding down. */
  settled: boolean;
  host: Host | null;
  link: JobLink | null;
  /** Messages sent before the job was placed. */
  early: SupervisorMessage[];
  bytesIn: number;
  rate: number;
  rateAt: number;
}

export class ActorPool implements JobPoolLike {
  private readonly queue: Entry[] = [];
  private readonly hosts = new Set<Host>();
  private readonly byKey = new Map<number, Entry>();
  private nextKey = 1;
  private nextHostId = 1;
  private running = 0;
  private closed = false;
  private readonly retireAfterMs: number;
  private readonly now: () => number;

  constructor(
    private readonly startHost: StartHost,
    private readonly options: ActorPoolOptions,
  ) {
    if (!Number.isInteger(options.maxJobs) || options.maxJobs < 1)
      throw new RangeError('maxJobs must be ≥ 1');
    if (!Number.isInteger(options.threads) || options.threads < 1)
      throw new RangeError('threads must be ≥ 1');
    this.retireAfterMs = options.retireAfterMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  submit(spec: JobSpec, onMessage: (message: unknown) => void, signal: AbortSignal): SubmittedJob {
    let resolve!: (outcome: JobOutcome) => void;
    let reject!: (error: Error) => void;
    const done = new Promise<JobOutcome>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Entry = {
      key: this.nextKey++,
      spec,
      onMessage,
      resolve,
      reject,
      settled: false,
      host: null,
      link: null,
      early: [],
      bytesIn: 0,
      rate: 0,
      rateAt: this.now(),
    };
    if (this.closed || signal.aborted) {
      entry.settled = true;
      reject(new Error(this.closed ? 'the pool is closed' : 'aborted'));
      return { done, send: () => undefined };
    }
    signal.addEventListener('abort', () => this.abort(entry), { once: true });
    this.queue.push(entry);
    this.pump();
    const send = (message: SupervisorMessage) => {
      if (entry.link) entry.link.send(message);
      else if (!entry.settled) entry.early.push(message);
    };
    return { done, send };
  }

  get queueSize(): number {
    return this.queue.length;
  }

  /** Hosts (threads) alive now. */
  get threads(): number {
    return this.hosts.size;
  }

  /** Jobs per host, for tests and the benchmark (host ids in start order). */
  placement(): Array<{ host: number; jobs: string[] }> {
    return [...this.hosts].map((h) => ({ host: h.id, jobs: [...h.jobs].map((e) => e.spec.jobId) }));
  }

  /** The host a job runs on (null when queued or unknown). */
  hostOf(jobId: string): number | null {
    for (const host of this.hosts) for (const e of host.jobs) if (e.spec.jobId === jobId) return host.id;
    return null;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.queue.splice(0)) this.settle(entry, new Error('the pool is closed'));
    for (const host of this.hosts) if (host.retireTimer) clearTimeout(host.retireTimer);
  }

  /** Places queued jobs while there is room. */
  private pump(): void {
    while (!this.closed && this.running < this.options.maxJobs && this.queue.length > 0) {
      this.place(this.queue.shift()!);
    }
  }

  private place(entry: Entry): void {
    const host = this.pickHost();
    entry.host = host;
    host.jobs.add(entry);
    if (host.retireTimer) {
      clearTimeout(host.retireTimer);
      host.retireTimer = null;
    }
    this.running++;
    this.byKey.set(entry.key, entry);
    entry.link = host.link.place(entry.key, entry.spec, (message) => entry.onMessage(message));
    for (const message of entry.early.splice(0)) entry.link.send(message);
  }

  private pickHost(): Host {
    let best: Host | null = null;
    let bestLoad = Infinity;
    const now = this.now();
    for (const host of this.hosts) {
      if (host.jobs.size === 0) return host;
      let load = 0;
      for (const e of host.jobs) load += decayed(e, now);
      const clearlyLess = load < bestLoad - LOAD_TOLERANCE;
      const asLoaded = Math.abs(load - bestLoad) <= LOAD_TOLERANCE;
      if (clearlyLess || (asLoaded && best !== null && host.jobs.size < best.jobs.size)) {
        best = host;
        bestLoad = load;
      }
    }
    if (best === null || this.hosts.size < this.options.threads) return this.newHost();
    return best;
  }

  private newHost(): Host {
    const id = this.nextHostId++;
    let host: Host | null = null;
    const started = this.startHost(id, (raw) => host && this.onReport(host, raw));
    host = { id, link: started.link, jobs: new Set(), retireTimer: null };
    const alive = host;
    this.hosts.add(alive);
    started.ended.then(
      () => this.hostEnded(alive, new Error('worker thread ended while hosting jobs')),
      (error: unknown) => this.hostEnded(alive, error instanceof Error ? error : new Error(String(error))),
    );
    return alive;
  }

  private onReport(host: Host, raw: unknown): void {
    const parsed = hostReportSchema.safeParse(raw);
    if (!parsed.success) return;
    const report = parsed.data;
    switch (report.type) {
      case 'progressBatch':
        for (const entry of report.entries) this.progress(entry);
        break;
      case 'settled':
        this.finished(host, report.key, null, report.outcome);
        break;
      case 'failed':
        this.finished(host, report.key, deserializeError(report.error), null);
        break;
      default:
        assertNever(report, 'host report');
    }
  }

  private progress(p: ProgressEntry): void {
    const entry = this.byKey.get(p.key);
    if (!entry || entry.settled) return;
    const now = this.now();
    const dt = Math.max(1, now - entry.rateAt);
    const instant = ((p.bytesIn - entry.bytesIn) * 1000) / dt;
    const alpha = 1 - Math.exp(-dt / RATE_TAU_MS);
    entry.rate = decayed(entry, now) + alpha * (instant - decayed(entry, now));
    entry.bytesIn = p.bytesIn;
    entry.rateAt = now;
    entry.onMessage(p.message);
  }

  /** A job's actor ended (`outcome`) or threw (`error`). */
  private finished(host: Host, key: number, error: Error | null, outcome: JobOutcome | null): void {
    const entry = this.byKey.get(key);
    if (!entry || entry.host !== host) return;
    this.release(entry);
    if (outcome) this.settle(entry, null, outcome);
    else this.settle(entry, error ?? new Error('worker failed'));
    this.pump();
  }

  private hostEnded(host: Host, error: Error): void {
    if (!this.hosts.delete(host)) return;
    if (host.retireTimer) clearTimeout(host.retireTimer);
    for (const entry of [...host.jobs]) {
      this.release(entry);
      this.settle(entry, error);
    }
    this.pump();
  }

  /** The job no longer counts against maxJobs; an empty host starts its retirement clock. */
  private release(entry: Entry): void {
    const host = entry.host;
    if (!host || !host.jobs.delete(entry)) return;
    this.byKey.delete(entry.key);
    this.running--;
    const link = entry.link;
    // Let messages already queued on the job's channel arrive before its end is closed.
    if (link) setImmediate(() => link.close());
    if (host.jobs.size === 0 && this.hosts.has(host) && !this.closed) {
      host.retireTimer = setTimeout(() => this.retire(host), this.retireAfterMs);
      host.retireTimer.unref();
    }
  }

  private retire(host: Host): void {
    host.retireTimer = null;
    if (host.jobs.size > 0 || !this.hosts.delete(host)) return;
    host.link.retire();
  }

  private abort(entry: Entry): void {
    const queued = this.queue.indexOf(entry);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(entry, new Error('aborted'));
      return;
    }
    if (entry.settled) return;
    // Handed to a host already: the actor has launched nothing (the supervisor aborts only jobs
    // it believes queued), so it stops at once; it counts against maxJobs until it has ended.
    entry.link?.send({ type: 'detach', jobId: entry.spec.jobId });
    this.settle(entry, new Error('aborted'));
  }

  private settle(entry: Entry, error: Error | null, outcome?: JobOutcome): void {
    if (entry.settled) return;
    entry.settled = true;
    if (error) entry.reject(error);
    else entry.resolve(outcome!);
  }
}

/** A job's output rate now: the last estimate, forgotten while no progress has come. */
function decayed(entry: Entry, now: number): number {
  const quiet = now - entry.rateAt;
  return quiet <= 0 ? entry.rate : entry.rate * Math.exp(-quiet / RATE_TAU_MS);
}
