/**
 * Claude Code's `--output-format stream-json` stdout — one JSON object per line — taken apart
 * without decoding. This is the worker's hot path, and the bytes themselves are what the output
 * file keeps: a chunk is scanned once with `indexOf(0x0a)`, a line within it is handed on as a
 * view, a line that spans chunks as a list of pieces (copies of its earlier parts, never joined
 * unless it must be parsed), and nothing is decoded to a string here.
 *
 * Which lines are parsed is the caller's choice (see stream-ingest.ts): `lineKind` looks only at
 * a line's first and last bytes. A line longer than `maxLineBytes` is never held: its bytes are
 * handed on as they come and it cannot be parsed, so what a container prints costs the host a
 * bounded amount of memory however long its lines are. The result depends only on the bytes,
 * never on how they were chunked: crash recovery replays a container's log through a fresh
 * splitter and must get exactly the lines of the first run.
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

/**
 * The longest line (in bytes, before its '\n') kept in memory, handed on whole and parsed when
 * needed. Claude Code's lines that must be parsed are `system/init` (tens of KiB) and `result`
 * (one model turn of final text: at most a few hundred KiB even JSON-escaped), so 4 MiB leaves
 * them an order of magnitude of room, while a running job holds at most this much of an
 * unfinished line — whatever a container prints.
 */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

/** Where a `LineSplitter` delivers a stream. */
export interface LineSink {
  /** A whole line of at most `maxLineBytes` bytes (empty lines are dropped). */
  line(line: Line): void;
  /** A line longer than `maxLineBytes` begins: its bytes follow through `cutBytes`. */
  cutStart(): void;
  /**
   * The next bytes of that line, in order, as they arrive (views into the chunks; never empty,
   * never its '\n'). They are not kept: a consumer that needs them must write them now.
   */
  cutBytes(bytes: Buffer): void;
  /** That line ended: at its '\n' (`complete`), or with the stream. */
  cutEnd(complete: boolean): void;
}

export class LineSplitter {
  /** Bytes of the current, unfinished line, in arrival order (never more than maxLineBytes). */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Inside a line longer than maxLineBytes: its bytes go straight to the sink. */
  private cutting = false;

  /**
   * A line is "cut" when its bytes before '\n' — a '\r' included — number more than
   * `maxLineBytes`: it is never held whole, and it keeps its bytes as they are (a final '\r'
   * too, since it is passed on before the '\n' that would show it to be one). Which lines are cut
   * depends only on the bytes, never on how they were chunked.
   */
  constructor(readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    }
  }

  /** Bytes held of the unfinished line: never more than maxLineBytes. */
  get buffered(): number {
    return this.pendingLength;
  }

  /**
   * Delivers what the chunk completes (and the bytes of a cut line), in order. The chunk is
   * only borrowed: what is kept of it beyond this call is copied, so the caller may reuse its
   * memory once the sink is done with what it was handed.
   */
  push(chunk: Buffer, sink: LineSink): void {
    let start = 0;
    if (this.cutting) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        if (chunk.length > 0) sink.cutBytes(chunk);
        return;
      }
      if (nl > 0) sink.cutBytes(chunk.subarray(0, nl));
      this.cutting = false;
      sink.cutEnd(true);
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(LF, start); nl !== -1; nl = chunk.indexOf(LF, start)) {
      if (this.pendingLength + (nl - start) > this.maxLineBytes) {
        this.startCut(sink);
        if (nl > start) sink.cutBytes(chunk.subarray(start, nl));
        sink.cutEnd(true);
      } else if (this.pendingLength > 0) {
        // The line began in an earlier chunk: its pieces, plus this chunk's part and '\n'.
        const pieces = this.pending;
        const length = this.pendingLength + nl - start;
        this.pending = [];
        this.pendingLength = 0;
        pieces.push(chunk.subarray(start, nl + 1));
        emit(pieces, length, true, sink);
      } else {
        emit([chunk.subarray(start, nl + 1)], nl - start, true, sink);
      }
      start = nl + 1;
    }
    if (start === chunk.length) return;
    const rest = chunk.subarray(start);
    if (this.pendingLength + rest.length > this.maxLineBytes) {
      this.startCut(sink);
      sink.cutBytes(rest);
      this.cutting = true;
      return;
    }
    this.keep(rest);
  }

  /** Flushes a final line that has no newline (or ends a cut line the stream stopped inside). */
  end(sink: LineSink): void {
    if (this.cutting) {
      this.cutting = false;
      sink.cutEnd(false);
      return;
    }
    if (this.pendingLength === 0) return;
    const pieces = this.pending;
    const length = this.pendingLength;
    this.pending = [];
    this.pendingLength = 0;
    emit(pieces, length, false, sink);
  }

  /** The line being kept has outgrown the limit: hand on what is held, then let go of it. */
  private startCut(sink: LineSink): void {
    sink.cutStart();
    const pieces = this.pending;
    this.pending = [];
    this.pendingLength = 0;
    for (const piece of pieces) sink.cutBytes(piece);
  }

  private keep(piece: Buffer): void {
    // A chunk is only borrowed for the duration of `push`: the reader may read the next one
    // into the same memory (or a 64 KiB chunk would stay pinned by its last few bytes).
    this.pending.push(Buffer.from(piece));
    this.pendingLength += piece.length;
  }
}

/** A line of `length` bytes before its '\n' (if `terminated`): strips a '\r', drops empty lines. */
function emit(pieces: Buffer[], length: number, complete: boolean, sink: LineSink): void {
  let line: Line = { pieces, length, terminated: complete, complete };
  if (length > 0 && byteAt(line, length - 1) === CR) {
    // '\r\n' (or a final '\r'): the output keeps the line with '\n' alone.
    line = { pieces: cut(pieces, length - 1), length: length - 1, terminated: false, complete };
  }
  if (line.length > 0) sink.line(line); // empty lines carry nothing
}
