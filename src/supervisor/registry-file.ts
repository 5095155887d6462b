import { readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import type { RegistryState } from './records.js';

/**
 * The registry on disk: one JSON document replaced atomically (temp file, fsync, rename), so a
 * crash at any instant leaves either the old or the new state, never a torn one. At most one
 * write is in flight and at most one more is queued behind it (it will serialise the state as it
 * is then), so a burst of changes costs at most two writes; progress updates are debounced.
 */
export class RegistryFile {
  private current: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    private readonly snapshot: () => RegistryState,
  ) {}

  static async load(path: string): Promise<RegistryState> {
    try {
      const text = await readFile(path, 'utf8');
      const parsed = JSON.parse(text) as RegistryState;
      if (parsed && parsed.version === 1) return parsed;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return { version: 1, sessions: {}, jobs: {} };
  }

  /** Persist soon (progress updates): at most one write per `delayMs` from these. */
  soon(delayMs = 1000): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.write();
    }, delayMs);
    this.timer.unref();
  }

  /** Persist now (state transitions); resolves once a write that began after this call is on disk. */
  now(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return this.write();
  }

  async flush(): Promise<void> {
    if (this.timer) await this.now();
    await this.queued;
    await this.current;
  }

  private write(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.current) {
      const data = JSON.stringify(this.snapshot());
      this.current = writeFileAtomic(this.path, data, { fsync: true, mode: 0o600 }).finally(() => {
        this.current = null;
      });
      return this.current;
    }
    this.queued = this.current.then(
      () => {
        this.queued = null;
        return this.write();
      },
      () => {
        this.queued = null;
        return this.write();
      },
    );
    return this.queued;
  }
}
