/**
 * Incremental parser for Claude Code's `--output-format stream-json` stdout: one JSON object per
 * line. This is the worker's hot path, so it works on Buffers: a chunk is scanned once with
 * `indexOf(0x0a)`, each line is decoded once (never a chunk, so a multi-byte character cut by a
 * chunk boundary is always decoded whole), and `JSON.parse` is only tried on lines that look
 * like an object. The bytes of a line that spans chunks are kept as a list of pieces and joined
 * once when its newline arrives, so a line of tens of MB costs no quadratic copying.
 *
 * The result depends only on the bytes, never on how they were chunked: crash recovery replays
 * a container's log through a fresh parser and must get exactly the lines of the first run.
 */

export type StreamLine =
  /** `raw` is the line without its `\n` or `\r\n`. */
  | { kind: 'json'; raw: string; value: Record<string, unknown> }
  /** Not JSON, or JSON that is not an object (`[1]`, `"x"`, `42`): kept as text. */
  | { kind: 'text'; raw: string };

const LF = 0x0a;
const CR = 0x0d;
const OPEN_BRACE = 0x7b;

function isBlank(byte: number): boolean {
  // Space, \t, \v, \f, \r: what a trim would remove before the first visible character.
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

export class StreamJsonParser {
  /** Bytes of the current, unfinished line, in arrival order. */
  private pending: Buffer[] = [];
  private pendingLength = 0;

  push(chunk: Buffer): StreamLine[] {
    const out: StreamLine[] = [];
    let start = 0;
    let nl = chunk.indexOf(LF);
    if (nl === -1) {
      this.keep(chunk);
      return out;
    }
    if (this.pendingLength > 0) {
      // The first line began in an earlier chunk: join its pieces once.
      this.pending.push(chunk.subarray(0, nl));
      const line = Buffer.concat(this.pending, this.pendingLength + nl);
      this.pending = [];
      this.pendingLength = 0;
      this.emit(line, 0, line.length, out);
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    while (nl !== -1) {
      this.emit(chunk, start, nl, out);
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    return out;
  }

  /** Flushes a final line that has no newline. */
  end(): StreamLine[] {
    if (this.pendingLength === 0) return [];
    const line = Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    const out: StreamLine[] = [];
    this.emit(line, 0, line.length, out);
    return out;
  }

  private keep(piece: Buffer): void {
    // A chunk is only borrowed from the stream: copy small leftovers so a 64 KiB chunk is not
    // pinned in memory by its last few bytes; large ones are kept as they are (no extra copy).
    this.pending.push(piece.length < 4096 ? Buffer.from(piece) : piece);
    this.pendingLength += piece.length;
  }

  /** One line: bytes [start, end) of `buf`, its `\n` already excluded. */
  private emit(buf: Buffer, start: number, end: number, out: StreamLine[]): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) return; // empty lines carry nothing
    const raw = buf.toString('utf8', start, end);
    let i = start;
    while (i < end && isBlank(buf[i]!)) i++;
    if (i < end && buf[i] === OPEN_BRACE) {
      try {
        // A line that starts with `{` and parses can only be an object.
        const value = JSON.parse(raw) as Record<string, unknown>;
        out.push({ kind: 'json', raw, value });
        return;
      } catch {
        // Not JSON after all (a log line that happens to start with `{`): kept as text.
      }
    }
    out.push({ kind: 'text', raw });
  }
}
