import { readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import type { RegistryState } from './records.js';

/**
 * The registry on disk: one JSON document replaced atomically (temp file, fsync, rename), so a
 * crash at any instant leaves either the old or the new state, never a torn one. Writes are
 * coalesced: at most one in flight, and the latest state wins.
 */
export class RegistryFile {
  private writing: Promise<void> | null = null;
  private dirty = false;
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

  /** Persist soon (progress updates): coalesced into one write per `delayMs`. */
  soon(delayMs = 500): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.now();
    }, delayMs);
    this.timer.unref();
  }

  /** Persist now (state transitions) and resolve once it is on disk. */
  async now(): Promise<void> {
    this.dirty = true;
    while (this.dirty) {
      if (this.writing) {
        await this.writing;
        continue;
      }
      this.dirty = false;
      const data = JSON.stringify(this.snapshot());
      this.writing = writeFileAtomic(this.path, data, { fsync: true, mode: 0o600 }).finally(() => {
        this.writing = null;
      });
      await this.writing;
    }
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.dirty || this.writing) await this.now();
  }
}
