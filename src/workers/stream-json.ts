/**
 * Claude Code's `--output-format stream-json` stdout — one JSON object per line — taken apart
 * without copying or decoding. This is the worker's hot path, and the bytes themselves are what
 * the output file keeps, so a line is handed on as views into the chunks it arrived in: a chunk
 * is scanned once with `indexOf(0x0a)`, a line that spans chunks is a list of pieces (never
 * joined unless it must be parsed), and nothing is decoded to a string here.
 *
 * Which lines are parsed is the caller's choice (see stream-ingest.ts): `lineKind` looks only at
 * a line's first and last bytes. The result depends only on the bytes, never on how they were
 * chunked: crash recovery replays a container's log through a fresh splitter and must get exactly
 * the lines of the first run.
 */

export interface Line {
  /**
   * The line's bytes in order: views into the chunks (several when the line spans chunks). When
   * `terminated`, the last piece ends with the line's own '\n', so the pieces are exactly the
   * bytes the output file gets; otherwise they hold the line alone.
   */
  pieces: Buffer[];
  /** Bytes of the line without its '\n' or '\r\n'. */
  length: number;
  terminated: boolean;
  /** False for a last line that ended without a newline: the stream may have been cut inside it. */
  complete: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Claude Code's high-volume events. The worker needs nothing from them beyond their count, so a
 * complete line that starts with one of these prefixes (as every line JSON.stringify writes for
 * them does) and ends with `}` is counted as an event without being decoded or parsed. A last
 * line without a newline (a stream cut short) is always parsed.
 */
const BULK_PREFIXES = ['{"type":"assistant"', '{"type":"user"', '{"type":"stream_event"'].map((p) =>
  Buffer.from(p),
);

/**
 * - `bulk`: an assistant, user or stream_event line (recognised by its bytes, not parsed);
 * - `object`: might be a JSON object (its first visible byte is `{`): parse it to know;
 * - `text`: cannot be a JSON object (a runtime warning, an array, a number…).
 */
export type LineKind = 'bulk' | 'object' | 'text';

function isBlank(byte: number): boolean {
  // Space, \t, \v, \f, \r: what a trim would remove before the first visible character.
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

const LONGEST_PREFIX = Math.max(...BULK_PREFIXES.map((p) => p.length));

export function lineKind(line: Line): LineKind {
  if (line.complete && byteAt(line, line.length - 1) === CLOSE_BRACE) {
    let first = line.pieces[0]!;
    // A line may begin with a few bytes at the end of a chunk: look at its start whole.
    if (first.length < LONGEST_PREFIX && line.pieces.length > 1) {
      const head: Buffer[] = [];
      let headLength = 0;
      for (const piece of line.pieces) {
        head.push(piece);
        headLength += piece.length;
        if (headLength >= LONGEST_PREFIX) break;
      }
      first = Buffer.concat(head, headLength);
    }
    for (const prefix of BULK_PREFIXES) {
      if (first.length >= prefix.length && first.compare(prefix, 0, prefix.length, 0, prefix.length) === 0) {
        return 'bulk';
      }
    }
  }
  let left = line.length;
  for (const piece of line.pieces) {
    const end = Math.min(piece.length, left);
    for (let i = 0; i < end; i++) {
      const byte = piece[i]!;
      if (!isBlank(byte)) return byte === OPEN_BRACE ? 'object' : 'text';
    }
    left -= end;
    if (left === 0) break;
  }
  return 'text';
}

/** The line decoded as UTF-8 (invalid sequences become U+FFFD). */
export function lineText(line: Line): string {
  const { pieces, length } = line;
  if (pieces.length === 1) return pieces[0]!.toString('utf8', 0, length);
  return Buffer.concat(pieces).toString('utf8', 0, length);
}

/** The line parsed, when it is a JSON object; null otherwise. */
export function parseObject(line: Line): Record<string, unknown> | null {
  try {
    // Only asked of lines whose first visible byte is `{`: parsing at all means an object.
    return JSON.parse(lineText(line)) as Record<string, unknown>;
  } catch {
    return null; // a log line that happens to start with `{`, or an event cut short
  }
}

function byteAt(line: Line, index: number): number {
  let offset = index;
  for (const piece of line.pieces) {
    if (offset < piece.length) return piece[offset]!;
    offset -= piece.length;
  }
  return -1;
}

/** The first `length` bytes of `pieces`, as views. */
function cut(pieces: Buffer[], length: number): Buffer[] {
  const out: Buffer[] = [];
  let left = length;
  for (const piece of pieces) {
    if (left <= 0) break;
    out.push(piece.length <= left ? piece : piece.subarray(0, left));
    left -= piece.length;
  }
  return out;
}

export class LineSplitter {
  /** Bytes of the current, unfinished line, in arrival order. */
  private pending: Buffer[] = [];
  private pendingLength = 0;

  /** Calls `onLine` for each line the chunk completes, in order. */
  push(chunk: Buffer, onLine: (line: Line) => void): void {
    let start = 0;
    let nl = chunk.indexOf(LF);
    if (nl === -1) {
      this.keep(chunk);
      return;
    }
    if (this.pendingLength > 0) {
      // The first line began in an earlier chunk: its pieces, plus this chunk's part and '\n'.
      const pieces = this.pending;
      const length = this.pendingLength + nl;
      this.pending = [];
      this.pendingLength = 0;
      pieces.push(chunk.subarray(0, nl + 1));
      emit(pieces, length, true, onLine);
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    while (nl !== -1) {
      emit([chunk.subarray(start, nl + 1)], nl - start, true, onLine);
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  /** Flushes a final line that has no newline. */
  end(onLine: (line: Line) => void): void {
    if (this.pendingLength === 0) return;
    const pieces = this.pending;
    const length = this.pendingLength;
    this.pending = [];
    this.pendingLength = 0;
    emit(pieces, length, false, onLine);
  }

  private keep(piece: Buffer): void {
    // A chunk is only borrowed from the stream: copy small leftovers so a 64 KiB chunk is not
    // pinned in memory by its last few bytes; large ones are kept as they are (no extra copy).
    this.pending.push(piece.length < 4096 ? Buffer.from(piece) : piece);
    this.pendingLength += piece.length;
  }
}

/** A line of `length` bytes before its '\n' (if `terminated`): strips a '\r', drops empty lines. */
function emit(pieces: Buffer[], length: number, complete: boolean, onLine: (line: Line) => void): void {
  let line: Line = { pieces, length, terminated: complete, complete };
  if (length > 0 && byteAt(line, length - 1) === CR) {
    // '\r\n' (or a final '\r'): the output keeps the line with '\n' alone.
    line = { pieces: cut(pieces, length - 1), length: length - 1, terminated: false, complete };
  }
  if (line.length > 0) onLine(line); // empty lines carry nothing
}
