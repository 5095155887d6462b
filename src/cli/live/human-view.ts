/**
 * The view a person watches: one line per tool call, Claude's text, failed tool results, a
 * status line (terminal only) with elapsed time, turns, tokens, cost and activity, and a
 * summary at the end. Rendering is the pure modules' job (../view); this class only keeps
 * state and decides when to draw.
 */
import type { JobStatus } from '../../supervisor/api.js';
import type { Colors } from '../view/colors.js';
import { renderStreamLine } from '../view/render.js';
import { sanitizeText } from '../view/sanitize.js';
import { statusLine } from '../view/status-line.js';
import { parseStreamLine } from '../view/stream-line.js';
import { summaryLines } from '../view/summary.js';
import { addToTally, emptyTally, type Tally } from '../view/tally.js';
import type { JobEnd, JobView } from './job-view.js';
import { LineSplitter } from './output-follower.js';
import type { Screen } from './screen.js';

const REDRAW_MS = 125;

export class HumanView implements JobView {
  readonly tally: Tally = emptyTally();
  private readonly lines = new LineSplitter((line) => this.onLine(line));
  private job: JobStatus | null = null;
  private lastText = '';
  private frame = 0;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private lastState: string | null = null;

  constructor(
    private readonly screen: Screen,
    private readonly colors: Colors,
    private readonly now: () => number = Date.now,
    /** Redraw the status line on a timer (spinner, elapsed time): terminals only. */
    private readonly animate = false,
  ) {}

  message(text: string): void {
    this.screen.log(this.colors.dim(text));
  }

  chunk(text: string): void {
    this.lines.push(text);
    this.draw();
  }

  progress(status: JobStatus): void {
    this.job = status;
    if (status.status !== this.lastState) {
      this.lastState = status.status;
      // Piped output has no status line: say when the job leaves the queue, once.
      if (this.screen.width === null && status.status === 'running')
        this.screen.log(`running job ${status.jobId}`);
    }
    if (this.animate && !this.timer && !this.paused) {
      this.timer = setInterval(() => this.draw(), REDRAW_MS);
      this.timer.unref?.();
    }
    this.draw();
  }

  end(status: JobStatus, end: JobEnd): void {
    this.lines.flush();
    this.job = status;
    this.stopTimer();
    this.screen.clearStatus();
    const resultShown =
      status.claude.result !== null && sanitizeText(status.claude.result).trim() === this.lastText.trim();
    for (const line of summaryLines({
      job: status,
      tally: this.tally,
      filesChanged: end.filesChanged,
      resultShown,
      ...(end.errorDetails ? { errorDetails: end.errorDetails } : {}),
      now: this.now(),
      colors: this.colors,
    })) {
      this.screen.log(line);
    }
  }

  pause(note?: string): void {
    this.paused = true;
    this.stopTimer();
    if (note && this.screen.width !== null) this.screen.status(note);
    else this.screen.clearStatus();
  }

  resume(): void {
    this.paused = false;
    if (this.job) this.progress(this.job);
  }

  close(): void {
    this.stopTimer();
    this.screen.clearStatus();
  }

  private onLine(raw: string): void {
    const parsed = parseStreamLine(raw);
    addToTally(this.tally, parsed);
    if (parsed.kind === 'assistant' && parsed.parentToolUseId === null) {
      const texts = parsed.blocks.filter((b) => b.kind === 'text');
      if (texts.length) this.lastText = sanitizeText(texts.map((b) => b.text).join('\n'));
    }
    for (const line of renderStreamLine(parsed, { colors: this.colors, width: this.screen.width })) {
      this.screen.log(line);
    }
  }

  private draw(): void {
    if (!this.job || this.paused || this.screen.width === null) return;
    this.frame += 1;
    this.screen.status(
      statusLine(this.job, this.tally, {
        now: this.now(),
        frame: this.frame,
        colors: this.colors,
        width: this.screen.width,
      }),
    );
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
