/**
 * Follows a job's output by byte offset through `output()` — the one read path an owner and a
 * client of the state directory share. Reads are serialised: a call while one is running makes
 * that one read again when it is done, so no trigger is lost and no page is read twice.
 */
import type { SupervisorApi } from '../../supervisor/api.js';

export const PAGE_BYTES = 256 * 1024;

export class OutputFollower {
  private offset: number;
  private reading: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly api: Pick<SupervisorApi, 'output'>,
    private readonly jobId: string,
    private readonly onChunk: (text: string) => void,
    opts: { offset?: number } = {},
  ) {
    this.offset = opts.offset ?? 0;
  }

  /** Byte offset of the next unread byte. */
  get position(): number {
    return this.offset;
  }

  /** Reads everything written so far. */
  pump(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          await this.readToEnd();
        } while (this.again);
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  private async readToEnd(): Promise<void> {
    for (;;) {
      const page = await this.api.output(this.jobId, { offset: this.offset, limit: PAGE_BYTES });
      if (page.content) this.onChunk(page.content);
      const moved = page.nextOffset !== this.offset;
      this.offset = page.nextOffset;
      if (!page.hasMore || !moved) return;
    }
  }
}

/** Splits chunks into lines; the last piece waits for its newline (or `flush`). */
export class LineSplitter {
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    const parts = text.split('\n');
    this.pending = parts.pop() ?? '';
    for (const part of parts) this.onLine(part.endsWith('\r') ? part.slice(0, -1) : part);
  }

  flush(): void {
    if (this.pending === '') return;
    const last = this.pending;
    this.pending = '';
    this.onLine(last);
  }
}
