/**
 * From the container's stdout to the output file and the Claude report, as the worker does it:
 * lines are split without decoding (stream-json.ts), written as the bytes they arrived as, and
 * only the lines the report needs are decoded and parsed — `system`, `result` and anything
 * unrecognised. Assistant, user and stream_event lines, nearly all of the bytes, are counted as
 * events by their first and last bytes and passed through untouched (the first one is parsed
 * while no session id is known yet).
 */
import { emptyClaudeReport, type ClaudeReport } from '../shared/protocol.js';
import { applyEvent } from './claude-report.js';
import type { OutputStore } from './output-store.js';
import { LineSplitter, lineKind, parseObject, type Line } from './stream-json.js';

export class StreamIngest {
  readonly report: ClaudeReport = emptyClaudeReport();
  /** Non-empty lines seen. */
  lines = 0;
  /** Lines that are stream-json events (JSON objects). */
  events = 0;
  /** Lines decoded and parsed (the rest went to the file untouched). */
  parsed = 0;
  sawResult = false;
  private readonly splitter = new LineSplitter();

  constructor(private readonly store: OutputStore) {}

  /** One chunk of stdout: its complete lines reach the file before this returns. */
  push(chunk: Buffer): void {
    this.splitter.push(chunk, this.onLine);
    this.store.flush();
  }

  /** The end of the stream: a last line without '\n' is taken as it is. */
  end(): void {
    this.splitter.end(this.onLine);
    this.store.flush();
  }

  private readonly onLine = (line: Line): void => {
    this.lines++;
    const kind = lineKind(line);
    if (kind === 'bulk' && this.report.sessionId !== null) {
      this.events++;
      this.store.append(line);
      return;
    }
    if (kind !== 'text') {
      this.parsed++;
      const event = parseObject(line);
      if (event !== null) {
        this.events++;
        if (applyEvent(this.report, event)) {
          // The result always lands in the output, even past maxOutputSize.
          this.sawResult = true;
          this.store.append(line, { force: true });
          return;
        }
      }
    }
    this.store.append(line);
  };
}
