/** `--json`: NDJSON events on stdout (see ../view/json-events.ts); the CLI's own messages go to stderr. */
import type { JobStatus } from '../../supervisor/api.js';
import type { OutStream } from '../io.js';
import { endEvent, statusEvent, streamLineEvents, type JsonEvent } from '../view/json-events.js';
import { parseStreamLine } from '../view/stream-line.js';
import { addToTally, emptyTally } from '../view/tally.js';
import type { JobEnd, JobView } from './job-view.js';
import { LineSplitter } from './output-follower.js';

/** Status events at most this often (and whenever the state changes). */
const STATUS_EVERY_MS = 1000;

export class JsonView implements JobView {
  private readonly tally = emptyTally();
  private readonly lines: LineSplitter;
  private jobId = '';
  private lastStatusAt = 0;
  private lastState: string | null = null;

  constructor(
    private readonly out: OutStream,
    private readonly err: OutStream,
    private readonly now: () => number = Date.now,
  ) {
    this.lines = new LineSplitter((line) => {
      const parsed = parseStreamLine(line);
      addToTally(this.tally, parsed);
      for (const event of streamLineEvents(parsed, this.jobId, this.now())) this.emit(event);
    });
  }

  message(text: string): void {
    this.err.write(`${text}\n`);
  }

  chunk(text: string): void {
    this.lines.push(text);
  }

  progress(status: JobStatus): void {
    this.jobId = status.jobId;
    const now = this.now();
    if (status.status === this.lastState && now - this.lastStatusAt < STATUS_EVERY_MS) return;
    this.lastState = status.status;
    this.lastStatusAt = now;
    this.emit(statusEvent(status, this.tally, now));
  }

  end(status: JobStatus, end: JobEnd): void {
    this.jobId = status.jobId;
    this.lines.flush();
    this.emit(endEvent(status, this.tally, end.filesChanged, this.now(), end.errorDetails));
  }

  pause(): void {}
  resume(): void {}
  close(): void {}

  private emit(event: JsonEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
}
