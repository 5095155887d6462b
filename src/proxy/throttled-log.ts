import type { Logger } from 'pino';

/**
 * A warning that a flood could repeat thousands of times a second (refused tokens, a job at its
 * caps) is written at most once per `everyMs` per key, with the number of repeats it stands for.
 * The log stays readable and the daemon never spends its time writing it.
 */
export class ThrottledLog {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly everyMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    const entry = this.seen.get(key);
    if (entry && now - entry.at < this.everyMs) {
      entry.suppressed += 1;
      return;
    }
    const repeats = entry?.suppressed ?? 0;
    this.seen.set(key, { at: now, suppressed: 0 });
    if (this.seen.size > 10_000) this.seen.clear();
    this.logger.warn(repeats > 0 ? { ...fields, repeatsSinceLast: repeats } : fields, msg);
  }
}
