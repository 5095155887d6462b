/**
 * When a job runner's throttled progress snapshot goes out. A runner asks for one after any
 * change; the ticker calls back once, after at most the interval, however often it was asked.
 *
 * - `TimerTicker`: one timer per runner (a runner alone, as the inline baseline has it).
 * - `SharedTicker`: one timer for every runner of a thread. All the snapshots due fall in the same
 *   tick, so the host can send them to the main thread as one message per tick.
 */
import type { Clock } from './clock.js';

export interface ProgressTicker {
  /** `emit` runs once, at most `intervalMs` from now; asking again before then changes nothing. */
  request(emit: () => void, intervalMs: number): void;
  /** `emit` will not run (the runner is ending). */
  cancel(emit: () => void): void;
}

export class TimerTicker implements ProgressTicker {
  private readonly timers = new Map<() => void, unknown>();

  constructor(private readonly clock: Clock) {}

  request(emit: () => void, intervalMs: number): void {
    if (this.timers.has(emit)) return;
    this.timers.set(
      emit,
      this.clock.setTimeout(() => {
        this.timers.delete(emit);
        emit();
      }, intervalMs),
    );
  }

  cancel(emit: () => void): void {
    const timer = this.timers.get(emit);
    if (timer === undefined) return;
    this.timers.delete(emit);
    this.clock.clearTimeout(timer);
  }
}

export class SharedTicker implements ProgressTicker {
  private due = new Set<() => void>();
  private timer: unknown = null;
  /** When the armed tick fires (clock time). */
  private fireAt = Infinity;

  /**
   * @param onTick runs the tick: it calls `runDue()` (between whatever it does before and after,
   *   e.g. collecting the snapshots the emits post and sending them as one message).
   */
  constructor(
    private readonly clock: Clock,
    private readonly onTick: (runDue: () => void) => void,
  ) {}

  request(emit: () => void, intervalMs: number): void {
    this.due.add(emit);
    const at = this.clock.now() + intervalMs;
    // A runner with a shorter interval than the armed tick's brings the tick forward.
    if (this.timer !== null && at >= this.fireAt) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.fireAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), intervalMs);
  }

  cancel(emit: () => void): void {
    this.due.delete(emit);
    if (this.due.size === 0 && this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
      this.fireAt = Infinity;
    }
  }

  private fire(): void {
    this.timer = null;
    this.fireAt = Infinity;
    const due = this.due;
    this.due = new Set();
    this.onTick(() => {
      for (const emit of due) emit();
    });
  }
}
