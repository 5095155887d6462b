/**
 * Where a job's stdout enters its runner. Several jobs share one worker thread, so no job may
 * hold the thread for long: at most `sliceBytes` of a job's output are fed to its ingest per
 * event-loop turn. What arrives beyond that (a pipe can deliver megabytes in one turn, a re-attach
 * replays a whole log) waits in a backlog, the source is paused, and the rest is fed one slice per
 * turn, so thread-mates' timers and messages run in between. Bytes keep their order; nothing is
 * copied (slices are views).
 */
export interface PausableSource {
  pause(): unknown;
  resume(): unknown;
}

export interface SlicedFeedOptions {
  /** Bytes fed per turn at most (a chunk is cut into views of this size). */
  sliceBytes: number;
  /** Runs `fn` on a later turn of the event loop (default setImmediate). */
  defer?: (fn: () => void) => void;
}

export class SlicedFeed {
  private readonly backlog: Buffer[] = [];
  private backlogBytes = 0;
  private usedThisTurn = 0;
  private turnPending = false;
  private source: PausableSource | null = null;
  private paused = false;
  private stopped = false;
  private waiters: Array<() => void> = [];
  private readonly sliceBytes: number;
  private readonly defer: (fn: () => void) => void;
  /** Bytes received so far (fed or waiting). */
  received = 0;

  constructor(
    private readonly sink: (slice: Buffer) => void,
    options: SlicedFeedOptions,
  ) {
    if (!Number.isSafeInteger(options.sliceBytes) || options.sliceBytes < 1) {
      throw new RangeError('sliceBytes must be a positive integer');
    }
    this.sliceBytes = options.sliceBytes;
    this.defer = options.defer ?? ((fn) => void setImmediate(fn));
  }

  /** The stream whose chunks arrive here: paused while a backlog waits. */
  attach(source: PausableSource): void {
    this.source = source;
    if (this.paused) source.pause();
  }

  /** One chunk from the source. */
  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.received += chunk.length;
    if (this.backlogBytes === 0 && this.usedThisTurn + chunk.length <= this.sliceBytes) {
      this.feed(chunk);
      return;
    }
    this.backlog.push(chunk);
    this.backlogBytes += chunk.length;
    this.pause();
    this.pump();
  }

  /** Resolves once every byte received so far has been fed (at once when there is no backlog). */
  drained(): Promise<void> {
    if (this.backlogBytes === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Bytes received and not fed yet. */
  get pending(): number {
    return this.backlogBytes;
  }

  /** Drops the backlog and feeds nothing more (the job's host is gone). */
  stop(): void {
    this.stopped = true;
    this.backlog.length = 0;
    this.backlogBytes = 0;
    this.release();
  }

  /** Feeds from the backlog what this turn's budget allows; the rest waits for the next turn. */
  private pump(): void {
    while (this.backlogBytes > 0 && this.usedThisTurn < this.sliceBytes && !this.stopped) {
      const head = this.backlog[0]!;
      const take = Math.min(head.length, this.sliceBytes - this.usedThisTurn);
      if (take === head.length) this.backlog.shift();
      else this.backlog[0] = head.subarray(take);
      this.backlogBytes -= take;
      this.feed(take === head.length ? head : head.subarray(0, take));
    }
    if (this.backlogBytes === 0) this.release();
    else this.nextTurn();
  }

  private feed(slice: Buffer): void {
    this.usedThisTurn += slice.length;
    this.nextTurn();
    this.sink(slice);
  }

  /** The budget is per turn: a later turn resets it and feeds on from the backlog. */
  private nextTurn(): void {
    if (this.turnPending) return;
    this.turnPending = true;
    this.defer(() => {
      this.turnPending = false;
      this.usedThisTurn = 0;
      if (this.backlogBytes > 0) this.pump();
    });
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.source?.pause();
  }

  private release(): void {
    if (this.paused) {
      this.paused = false;
      if (!this.stopped) this.source?.resume();
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
