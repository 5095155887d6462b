/**
 * `--raw`: the job's stream-json exactly as stored, on stdout (read through `output()`, whose
 * pages never split a character, so valid UTF-8 comes out byte for byte). Everything else —
 * the CLI's messages and the closing summary — goes to stderr.
 */
import type { JobStatus } from '../../supervisor/api.js';
import type { OutStream } from '../io.js';
import type { Colors } from '../view/colors.js';
import { summaryLines } from '../view/summary.js';
import { emptyTally } from '../view/tally.js';
import type { JobEnd, JobView } from './job-view.js';

export class RawView implements JobView {
  constructor(
    private readonly out: OutStream,
    private readonly err: OutStream,
    private readonly errColors: Colors,
    private readonly now: () => number = Date.now,
  ) {}

  message(text: string): void {
    this.err.write(`${text}\n`);
  }

  chunk(text: string): void {
    this.out.write(text);
  }

  progress(): void {}

  end(status: JobStatus, end: JobEnd): void {
    const lines = summaryLines({
      job: status,
      tally: emptyTally(),
      filesChanged: end.filesChanged,
      resultShown: true,
      ...(end.errorDetails ? { errorDetails: end.errorDetails } : {}),
      now: this.now(),
      colors: this.errColors,
    });
    this.err.write(`${lines.join('\n')}\n`);
  }

  pause(): void {}
  resume(): void {}
  close(): void {}
}
