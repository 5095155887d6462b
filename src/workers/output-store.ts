/**
 * A job's output file: the stream-json lines, each followed by '\n', append-only. The worker
 * thread writes it synchronously, one `writev` per chunk of input with the lines' bytes as they
 * arrived (never decoded and re-encoded), so a reader on the main thread sees them at once.
 *
 * A line longer than the line limit (stream-json.ts) is written as its bytes come
 * (`beginCut`, `appendCut`, `endCut`) and never held whole.
 *
 * `maxOutputSize` counts every byte. A whole line that would cross it is replaced by one marker
 * line; a cut line that crosses it is ended at the cap (what fits of it, then '\n') and followed
 * by the marker. Nothing after the marker is written, so the file never exceeds the cap by more
 * than the marker line.
 *
 * The bytes are a pure function of the lines and the options (cap, marker), never of timing,
 * batching or how a cut line's bytes were chunked. That is what makes crash recovery safe: a new supervisor re-reads the
 * container's whole log through a fresh parser and store, the store recomputes the same byte
 * sequence, checks it against what the file already holds and writes only what lies beyond —
 * no byte lost, none doubled.
 */
import {
  closeSync,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import type { Line } from './stream-json.js';

export interface OutputStoreOptions {
  /** Bytes of output kept (every byte counts); 0 = unlimited. */
  maxOutputSize: number;
  /** Characters `tail()` keeps (default 500). */
  tailChars?: number;
  /** An already open descriptor of the file (opened 'a+'); the store then never closes it. */
  fd?: number;
  /** Called once when the replayed output differs from the file left by a crashed run. */
  onReplayMismatch?: (info: ReplayMismatch) => void;
}

export interface ReplayMismatch {
  /** Byte offset of the first difference. */
  offset: number;
  /** Bytes the file held when it was opened (after cutting a partial last line). */
  existingSize: number;
}

export const DEFAULT_TAIL_CHARS = 500;
const REPLAY_READ_BYTES = 1024 * 1024;
const LF = 0x0a;
const LF_BYTE = Buffer.from([LF]);

export function truncationMarker(maxOutputSize: number): string {
  return `[claude-pod] output truncated: maxOutputSize (${maxOutputSize} bytes) reached; further output dropped`;
}

/** A line given as strings (the marker, tests): its UTF-8 bytes as one terminated piece. */
function encodedLine(text: string): Line {
  const bytes = Buffer.from(text + '\n');
  return { pieces: [bytes], length: bytes.length - 1, terminated: true, complete: true };
}

export class OutputStore {
  private fd: number | null;
  /** Bytes of the computed output so far (what an uncrashed run would have written). */
  private logical = 0;
  /** Bytes in the file. */
  private fileSize: number;
  private isTruncated = false;
  private mismatch: ReplayMismatch | null = null;
  private readBuffer: Buffer | null = null;
  /** Buffers of whole lines waiting for `flush()`: one `writev` per batch. */
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** The last bytes of the output, enough for `tailChars` characters; decoded on demand. */
  private readonly tailBytes: Buffer;
  private tailLength = 0;
  /** True once the output has outgrown `tailBytes` (its first bytes may split a character). */
  private tailCut = false;
  private tailText: string | null = '';
  private readonly maxOutputSize: number;
  private readonly tailChars: number;
  private readonly marker: Line;
  /** A cut line in progress: `writing` its bytes, or `dropping` them (past the cap). */
  private cut: 'none' | 'writing' | 'dropping' = 'none';
  /** Bytes of the cut line in progress that were written. */
  private cutWritten = 0;

  /**
   * Opens (creating directories) the output file. A file left by a crashed run is cut back to
   * its last '\n' and its bytes become the replay region that the next lines are checked against.
   */
  static open(path: string, options: OutputStoreOptions): OutputStore {
    const { maxOutputSize, tailChars = DEFAULT_TAIL_CHARS } = options;
    if (!Number.isSafeInteger(maxOutputSize) || maxOutputSize < 0) {
      throw new ClaudePodError(ErrorCodes.INVALID_ARGUMENT, `maxOutputSize must be a non-negative integer`);
    }
    if (!Number.isSafeInteger(tailChars) || tailChars < 1) {
      throw new ClaudePodError(ErrorCodes.INVALID_ARGUMENT, `tailChars must be a positive integer`);
    }
    const owned = options.fd === undefined;
    if (owned) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = options.fd ?? openSync(path, 'a+', 0o600);
    try {
      const stat = fstatSync(fd);
      // A file left by an older version may be readable by others; only ever a regular file
      // (never e.g. /dev/null, which a benchmark writes to).
      if (stat.isFile() && (stat.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
      const size = stat.size;
      const keep = size === 0 ? 0 : endOfLastLine(fd, size);
      // A partial last line is what a crash mid-write leaves; the replay writes it again whole.
      if (keep < size) ftruncateSync(fd, keep);
      return new OutputStore(fd, owned, keep, maxOutputSize, tailChars, options.onReplayMismatch);
    } catch (error) {
      if (owned) closeSync(fd);
      throw error;
    }
  }

  private constructor(
    fd: number,
    private readonly ownsFd: boolean,
    /** Bytes the file held at open: the replay region. */
    private readonly existing: number,
    maxOutputSize: number,
    tailChars: number,
    private readonly onReplayMismatch: ((info: ReplayMismatch) => void) | undefined,
  ) {
    this.fd = fd;
    this.fileSize = existing;
    this.maxOutputSize = maxOutputSize;
    this.tailChars = tailChars;
    this.marker = encodedLine(truncationMarker(maxOutputSize));
    // A UTF-16 code unit takes at most 3 UTF-8 bytes; +3 for a character cut at the start.
    this.tailBytes = Buffer.allocUnsafe(tailChars * 3 + 3);
  }

  /**
   * Queues one line (the output gets it plus '\n'; it is written by the next `flush()`). The
   * line that would cross the cap is replaced by one marker line; later lines are dropped.
   */
  append(line: Line): void {
    this.checkOpen();
    if (this.cut !== 'none') throw new ClaudePodError(ErrorCodes.INTERNAL, 'a cut line is still open');
    if (this.isTruncated) return;
    const bytes = line.length + 1;
    if (this.maxOutputSize > 0 && this.logical + bytes > this.maxOutputSize) {
      this.truncate();
      return;
    }
    this.put(line.terminated ? line.pieces : [...line.pieces, LF_BYTE], bytes);
  }

  /** Starts a line too long to hold: its bytes come through `appendCut`, then `endCut`. */
  beginCut(): void {
    this.checkOpen();
    if (this.cut !== 'none') throw new ClaudePodError(ErrorCodes.INTERNAL, 'a cut line is still open');
    this.cut = this.isTruncated ? 'dropping' : 'writing';
    this.cutWritten = 0;
  }

  /**
   * The next bytes of the cut line (no '\n'), queued like a line's. Where they would leave no
   * room for the line's '\n' within the cap, the line ends: what fits, '\n', then the marker.
   */
  appendCut(bytes: Buffer): void {
    if (this.cut === 'none') throw new ClaudePodError(ErrorCodes.INTERNAL, 'no cut line is open');
    if (this.cut === 'dropping' || bytes.length === 0) return;
    const max = this.maxOutputSize;
    const room = max === 0 ? Number.POSITIVE_INFINITY : max - this.logical - 1;
    if (bytes.length <= room) {
      this.put([bytes], bytes.length);
      this.cutWritten += bytes.length;
      return;
    }
    if (room > 0) {
      this.put([bytes.subarray(0, room)], room);
      this.cutWritten += room;
    }
    if (this.cutWritten > 0) this.put([LF_BYTE], 1);
    this.cut = 'dropping';
    this.truncate();
  }

  /** Ends the cut line with its '\n' (unless it was dropped). */
  endCut(): void {
    if (this.cut === 'none') throw new ClaudePodError(ErrorCodes.INTERNAL, 'no cut line is open');
    if (this.cut === 'writing' && this.cutWritten > 0) this.put([LF_BYTE], 1);
    this.cut = 'none';
  }

  /** Writes the queued lines: bytes reach the file before this returns. */
  flush(): void {
    if (this.batch.length === 0 || this.fd === null) return;
    const buffers = this.batch;
    const total = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    let written = writevSync(this.fd, buffers);
    if (written < total) {
      // A short write (a full disk, a signal): write the rest from where it stopped.
      const rest = Buffer.concat(buffers, total).subarray(written);
      for (let off = 0; off < rest.length;) off += writeSync(this.fd, rest, off, rest.length - off);
      written = total;
    }
    this.fileSize += written;
  }

  /** Appends lines given as strings (no '\n' inside) and writes them at once. */
  appendLines(lines: string[]): void {
    this.checkOpen();
    for (const text of lines) this.append(encodedLine(text));
    this.flush();
  }

  /** Bytes of output so far: the file's size once a replay has caught up. */
  get size(): number {
    return this.logical < this.existing ? this.logical : this.fileSize + this.batchBytes;
  }

  get truncated(): boolean {
    return this.isTruncated;
  }

  /** True while the output recomputed so far is still inside what the file already held. */
  get replaying(): boolean {
    return this.logical < this.existing;
  }

  /** True when the replay found bytes that differ from the file's; output was appended after it. */
  get replayMismatch(): boolean {
    return this.mismatch !== null;
  }

  get replayMismatchInfo(): ReplayMismatch | null {
    return this.mismatch;
  }

  /** The last ~tailChars characters of the output. */
  tail(): string {
    if (this.tailText !== null) return this.tailText;
    let start = 0;
    // The kept bytes may begin inside a character: skip its continuation bytes.
    if (this.tailCut) while (start < 3 && (this.tailBytes[start]! & 0xc0) === 0x80) start++;
    let tail = this.tailBytes.toString('utf8', start, this.tailLength).slice(-this.tailChars);
    // Never start with half of a surrogate pair.
    const first = tail.charCodeAt(0);
    if (first >= 0xdc00 && first <= 0xdfff) tail = tail.slice(1);
    this.tailText = tail;
    return tail;
  }

  close(): void {
    if (this.fd === null) return;
    this.flush();
    const fd = this.fd;
    this.fd = null;
    this.readBuffer = null;
    if (this.ownsFd) closeSync(fd);
  }

  private checkOpen(): void {
    if (this.fd === null) throw new ClaudePodError(ErrorCodes.INTERNAL, 'output store is closed');
  }

  /** The cap is reached: one marker line, then nothing more. */
  private truncate(): void {
    this.isTruncated = true;
    this.put(this.marker.pieces, this.marker.length + 1);
  }

  /**
   * Bytes of the computed output, at its end: checked against the file while a replay is inside
   * what a crashed run left, written once past it.
   */
  private put(pieces: Buffer[], bytes: number): void {
    const start = this.logical;
    this.logical += bytes;
    for (const piece of pieces) this.keepTail(piece);
    if (start >= this.existing) {
      this.queue(pieces, bytes);
      return;
    }
    // Inside what a crashed run left: check, don't write.
    if (this.mismatch === null) this.verify(pieces, Math.min(bytes, this.existing - start), start);
    if (this.logical >= this.existing) this.readBuffer = null;
    // Bytes that straddle the file's end can only follow a mismatch (a clean replay reaches the
    // end at a line boundary, and a cut line's bytes never cross one): they are written whole
    // after the file's bytes, so nothing is written over old bytes.
    if (this.logical > this.existing) this.queue(pieces, bytes);
  }

  private queue(pieces: Buffer[], bytes: number): void {
    for (const piece of pieces) this.batch.push(piece);
    this.batchBytes += bytes;
  }

  /** Keeps the last bytes of the output (a piece of tens of MB costs one copy of the tail). */
  private keepTail(piece: Buffer): void {
    const room = this.tailBytes.length;
    this.tailText = null;
    if (piece.length >= room) {
      piece.copy(this.tailBytes, 0, piece.length - room);
      this.tailLength = room;
      this.tailCut = true;
      return;
    }
    if (this.tailLength + piece.length > room) {
      const keep = room - piece.length;
      this.tailBytes.copyWithin(0, this.tailLength - keep, this.tailLength);
      this.tailLength = keep;
      this.tailCut = true;
    }
    piece.copy(this.tailBytes, this.tailLength);
    this.tailLength += piece.length;
  }

  /** Compares the first `length` bytes of `pieces` with the file's bytes at `position`. */
  private verify(pieces: Buffer[], length: number, position: number): void {
    const scratch = (this.readBuffer ??= Buffer.allocUnsafe(REPLAY_READ_BYTES));
    let done = 0;
    for (const piece of pieces) {
      for (let at = 0; at < piece.length && done < length;) {
        const want = Math.min(scratch.length, piece.length - at, length - done);
        const got = readFully(this.fd!, scratch, want, position + done);
        const expected = piece.subarray(at, at + want);
        if (got !== want || !scratch.subarray(0, want).equals(expected)) {
          let i = 0;
          while (i < got && scratch[i] === expected[i]) i++;
          this.mismatch = { offset: position + done + i, existingSize: this.existing };
          this.onReplayMismatch?.(this.mismatch);
          return;
        }
        at += want;
        done += want;
      }
    }
  }
}

function readFully(fd: number, buffer: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Offset just past the file's last '\n' (0 when it has none), read backwards in blocks. */
function endOfLastLine(fd: number, size: number): number {
  const block = Buffer.allocUnsafe(Math.min(size, 64 * 1024));
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - block.length);
    const n = readFully(fd, block, end - start, start);
    const i = n > 0 ? block.subarray(0, n).lastIndexOf(LF) : -1;
    if (i !== -1) return start + i + 1;
    end = start;
  }
  return 0;
}
