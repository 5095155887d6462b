import { serializeError, type SerializedError } from '../shared/errors.js';

/** Failed probes in a row, at the least, before an engine can be declared unreachable. */
export const MIN_FAILED_PROBES = 3;

export interface EngineHealthDeps {
  engines: string[];
  /** Resolves when the engine answered (any answer); throws when it gave none. */
  probe(name: string): Promise<void>;
  /** Every probe must have failed for this long (and MIN_FAILED_PROBES times) first. */
  unreachableAfterMs: number;
  everyMs: number;
  /** Whether the engine has unfinished jobs (only those engines are probed when all is well). */
  watched(name: string): boolean;
  later(fn: () => void, ms: number): void;
  now(): number;
  onDown(name: string, lastError: SerializedError): void;
  onUp(name: string): void;
}

interface State {
  /** When the first of the current run of failed probes happened; null while answers come. */
  failingSince: number | null;
  failures: number;
  declared: boolean;
  probing: boolean;
  lastError: SerializedError | null;
}

/**
 * Whether each engine answers. One failed call says nothing (a timeout, a restart of the engine's
 * service): an engine is declared unreachable only when every probe has failed, at least
 * MIN_FAILED_PROBES times, over `unreachableAfterMs`. A probe answered again undoes it. Engines
 * with unfinished jobs are probed every `everyMs`; any engine is probed at once when a call to it
 * failed (`suspect`).
 */
export class EngineHealth {
  private readonly states = new Map<string, State>();
  private stopped = false;
  private ticking = false;

  constructor(private readonly d: EngineHealthDeps) {
    for (const name of d.engines) {
      this.states.set(name, {
        failingSince: null,
        failures: 0,
        declared: false,
        probing: false,
        lastError: null,
      });
    }
  }

  start(): void {
    if (this.ticking) return;
    this.ticking = true;
    const tick = () => {
      if (this.stopped) return;
      for (const [name, s] of this.states) {
        if (s.failingSince !== null || s.declared || this.d.watched(name)) void this.probeOnce(name);
      }
      this.d.later(tick, this.d.everyMs);
    };
    this.d.later(tick, this.d.everyMs);
  }

  /** A call to the engine got no answer: probe it now (and keep probing while it fails). */
  suspect(name: string): void {
    if (!this.stopped) void this.probeOnce(name);
  }

  isDeclared(name: string): boolean {
    return this.states.get(name)?.declared === true;
  }

  stop(): void {
    this.stopped = true;
  }

  private async probeOnce(name: string): Promise<void> {
    const s = this.states.get(name);
    if (!s || s.probing) return;
    s.probing = true;
    try {
      await this.d.probe(name);
      s.failingSince = null;
      s.failures = 0;
      s.lastError = null;
      if (s.declared && !this.stopped) {
        s.declared = false;
        this.d.onUp(name);
      }
    } catch (error) {
      const now = this.d.now();
      s.failingSince ??= now;
      s.failures += 1;
      s.lastError = serializeError(error);
      if (
        !s.declared &&
        !this.stopped &&
        s.failures >= MIN_FAILED_PROBES &&
        now - s.failingSince >= this.d.unreachableAfterMs
      ) {
        s.declared = true;
        this.d.onDown(name, s.lastError);
      }
      // While it fails, look again sooner than the regular tick would (but never in a tight loop).
      if (!s.declared && !this.stopped) {
        this.d.later(
          () => void this.probeOnce(name),
          Math.max(10, Math.min(this.d.everyMs, this.d.unreachableAfterMs / MIN_FAILED_PROBES)),
        );
      }
    } finally {
      s.probing = false;
    }
  }
}
