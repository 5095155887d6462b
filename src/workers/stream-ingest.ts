/**
 * From the container's stdout to the output file and the Claude report, as the worker does it:
 * lines are split without decoding (stream-json.ts), written as the bytes they arrived as, and
 * only the lines the report needs are decoded and parsed — `system`, `result` and anything
 * unrecognised. Assistant, user and stream_event lines, nearly all of the bytes, are counted as
 * events by their first and last bytes and passed through untouched (the first one is parsed
 * while no session id is known yet).
 *
 * A line longer than `maxLineBytes` is cut: its bytes go to the file as they come (within
 * maxOutputSize), it is never held or parsed, and `linesCut` counts it. So the memory a job
 * costs the host is bounded whatever its container prints.
 */
import { emptyClaudeReport, type ClaudeReport } from '../shared/protocol.js';
import { applyEvent } from './claude-report.js';
import type { OutputStore } from './output-store.js';
import {
  DEFAULT_MAX_LINE_BYTES,
  LineSplitter,
  lineKind,
  parseObject,
  type Line,
  type LineSink,
} from './stream-json.js';

export interface StreamIngestOptions {
  /** Longest line held and parsed, in bytes (default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

export class StreamIngest {
  readonly report: ClaudeReport = emptyClaudeReport();
  /** Non-empty lines seen (cut ones included). */
  lines = 0;
  /** Lines longer than maxLineBytes: written as they came, never parsed. */
  linesCut = 0;
  /** Lines that are stream-json events (JSON objects). */
  events = 0;
  /** Lines decoded and parsed (the rest went to the file untouched). */
  parsed = 0;
  /** A `result` event was parsed (whether or not the output cap let it into the file). */
  sawResult = false;
  private readonly splitter: LineSplitter;

  constructor(
    private readonly store: OutputStore,
    options: StreamIngestOptions = {},
  ) {
    this.splitter = new LineSplitter(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  }

  /**
   * One chunk of stdout: its complete lines (and a cut line's bytes so far) reach the file
   * before this returns, and nothing of the chunk is kept: the reader may read the next chunk
   * into the same buffer.
   */
  push(chunk: Buffer): void {
    this.splitter.push(chunk, this.sink);
    this.store.flush();
  }

  /** The end of the stream: a last line without '\n' is taken as it is. */
  end(): void {
    this.splitter.end(this.sink);
    this.store.flush();
  }

  private readonly sink: LineSink = {
    line: (line: Line): void => {
      this.lines++;
      const kind = lineKind(line);
      if (kind === 'bulk' && this.report.sessionId !== null) {
        this.events++;
      } else if (kind !== 'text') {
        this.parsed++;
        const event = parseObject(line);
        if (event !== null) {
          this.events++;
          if (applyEvent(this.report, event)) this.sawResult = true;
        }
      }
      // Every line counts against maxOutputSize, the result too: the report already has it.
      this.store.append(line);
    },
    cutStart: (): void => {
      this.lines++;
      this.linesCut++;
      this.store.beginCut();
    },
    cutBytes: (bytes: Buffer): void => this.store.appendCut(bytes),
    cutEnd: (): void => this.store.endCut(),
  };
}
