import type { Clock } from './clock.js';

export type TimerKind = 'startup' | 'idle';

/**
 * The two watchdogs of a job: `startup` fires when no output arrived within the startup timeout,
 * `idle` when the job did nothing for the idle timeout. Idle means idle: besides output, the
 * `otherActivity` callback reports the last time anything else showed the job at work (bytes
 * through its API connection, CPU), so one long model reply that Claude Code prints nothing
 * about is not idle. `outputSeen()` is called on every chunk, so it only records the time; the
 * timer re-arms itself lazily when it fires early.
 */
export class OutputWatchdog {
  private handle: unknown = null;
  private lastOutputAt: number | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly startupMs: number,
    private readonly idleMs: number,
    private readonly onTimeout: (kind: TimerKind) => void,
    private readonly otherActivity: () => number | null = () => null,
  ) {}

  start(): void {
    this.arm(this.startupMs);
  }

  outputSeen(): void {
    const first = this.lastOutputAt === null;
    this.lastOutputAt = this.clock.now();
    if (first && !this.stopped) {
      // The startup timer is done with: from now on the idle timeout counts.
      if (this.handle !== null) this.clock.clearTimeout(this.handle);
      this.arm(this.idleMs);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.handle = this.clock.setTimeout(() => this.fire(), Math.max(1, ms));
  }

  private fire(): void {
    this.handle = null;
    if (this.stopped) return;
    if (this.lastOutputAt === null) {
      this.stopped = true;
      this.onTimeout('startup');
      return;
    }
    const other = this.otherActivity();
    const last = other !== null && other > this.lastOutputAt ? other : this.lastOutputAt;
    const quietFor = this.clock.now() - last;
    if (quietFor >= this.idleMs) {
      this.stopped = true;
      this.onTimeout('idle');
      return;
    }
    this.arm(this.idleMs - quietFor);
  }
}
