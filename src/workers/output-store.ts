/**
 * A job's output file: the stream-json lines, each followed by '\n', append-only. The worker
 * thread writes it synchronously, one write per batch of lines, so bytes reach the file as soon
 * as they are parsed and a reader on the main thread sees them at once.
 *
 * The bytes are a pure function of the lines and the options (cap, marker, forced lines), never
 * of timing or batching. That is what makes crash recovery safe: a new supervisor re-reads the
 * container's whole log through a fresh parser and store, the store recomputes the same byte
 * sequence, checks it against what the file already holds and writes only what lies beyond —
 * no byte lost, none doubled.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

export interface OutputStoreOptions {
  /** Bytes of output kept; 0 = unlimited. Forced lines are written even past it. */
  maxOutputSize: number;
  /** Characters `tail()` keeps (default 500). */
  tailChars?: number;
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
/** The encode buffer is kept between batches up to this size; a huge line's is released. */
const KEEP_ENCODE_BYTES = 4 * 1024 * 1024;
const LF = 0x0a;

export function truncationMarker(maxOutputSize: number): string {
  return `[claude-pod] output truncated: maxOutputSize (${maxOutputSize} bytes) reached; further output dropped`;
}

export class OutputStore {
  private fd: number | null;
  /** Bytes of the computed output so far (what an uncrashed run would have written). */
  private logical = 0;
  /** Bytes in the file. */
  private fileSize: number;
  private isTruncated = false;
  private tailText = '';
  private mismatch: ReplayMismatch | null = null;
  private readBuffer: Buffer | null = null;
  private encodeBuffer = Buffer.allocUnsafe(64 * 1024);
  private readonly maxOutputSize: number;
  private readonly tailChars: number;
  private readonly markerBytes: Buffer;

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
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'a+');
    try {
      const size = fstatSync(fd).size;
      const keep = size === 0 ? 0 : endOfLastLine(fd, size);
      // A partial last line is what a crash mid-write leaves; the replay writes it again whole.
      if (keep < size) ftruncateSync(fd, keep);
      return new OutputStore(fd, keep, maxOutputSize, tailChars, options.onReplayMismatch);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  private constructor(
    fd: number,
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
    this.markerBytes = Buffer.from(truncationMarker(maxOutputSize) + '\n');
  }

  /**
   * Appends lines (each gets '\n'; they must not contain one). Past the cap, one marker line
   * replaces the rest and later lines are dropped, except forced ones (the final `result`).
   */
  appendLines(lines: string[], options?: { force?: boolean }): void {
    if (this.fd === null) throw new ClaudePodError(ErrorCodes.INTERNAL, 'output store is closed');
    if (lines.length === 0) return;
    const force = options?.force === true;
    if (this.isTruncated && !force) return;

    const max = this.maxOutputSize;
    const capped = max > 0 && !force;
    const ends: number[] = [];
    let bytes = this.encode(lines, capped ? ends : null);
    let kept: string[] = lines;
    if (capped && this.logical + bytes.length > max) {
      let n = 0;
      while (n < lines.length && this.logical + ends[n]! <= max) n++;
      kept = [...lines.slice(0, n), truncationMarker(max)];
      bytes = Buffer.concat([bytes.subarray(0, n === 0 ? 0 : ends[n - 1]), this.markerBytes]);
      this.isTruncated = true;
    }
    this.sink(bytes);
    this.updateTail(kept);
    if (this.encodeBuffer.length > KEEP_ENCODE_BYTES)
      this.encodeBuffer = Buffer.allocUnsafe(KEEP_ENCODE_BYTES);
  }

  /**
   * The lines as UTF-8, each + '\n', in a reused buffer (valid until the next call): much
   * cheaper than `Buffer.from(lines.join('\n'))`, which flattens and allocates each time.
   */
  private encode(lines: string[], ends: number[] | null): Buffer {
    let need = 0;
    for (const line of lines) need += (line.length > 65536 ? Buffer.byteLength(line) : line.length * 3) + 1;
    if (this.encodeBuffer.length < need) {
      this.encodeBuffer = Buffer.allocUnsafe(Math.max(need, this.encodeBuffer.length * 2));
    }
    const buf = this.encodeBuffer;
    let at = 0;
    for (const line of lines) {
      at += buf.write(line, at);
      buf[at++] = LF;
      ends?.push(at);
    }
    return buf.subarray(0, at);
  }

  /** Bytes of output so far: the file's size once a replay has caught up. */
  get size(): number {
    return this.logical < this.existing ? this.logical : this.fileSize;
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
    return this.tailText;
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    this.readBuffer = null;
    closeSync(fd);
  }

  /** Writes the part of `bytes` (whole lines of computed output) the file does not hold yet. */
  private sink(bytes: Buffer): void {
    const start = this.logical;
    this.logical += bytes.length;
    if (start >= this.existing) {
      this.write(bytes);
      return;
    }
    const overlap = Math.min(bytes.length, this.existing - start);
    if (this.mismatch === null) this.verify(bytes, overlap, start);
    if (this.logical >= this.existing) this.readBuffer = null;
    if (overlap === bytes.length) return;
    // The file ends inside this batch, at a line boundary. After a clean replay that boundary is
    // exactly `overlap`; after a mismatch, resume at the start of the line that straddles the
    // file's end, so the file stays whole lines (nothing is written over existing bytes).
    const from = bytes.lastIndexOf(LF, overlap - 1) + 1;
    this.write(bytes.subarray(from));
  }

  private verify(bytes: Buffer, length: number, position: number): void {
    const scratch = (this.readBuffer ??= Buffer.allocUnsafe(REPLAY_READ_BYTES));
    for (let done = 0; done < length;) {
      const want = Math.min(scratch.length, length - done);
      const got = readFully(this.fd!, scratch, want, position + done);
      const expected = bytes.subarray(done, done + want);
      if (got !== want || !scratch.subarray(0, want).equals(expected)) {
        let i = 0;
        while (i < got && scratch[i] === expected[i]) i++;
        this.mismatch = { offset: position + done + i, existingSize: this.existing };
        this.onReplayMismatch?.(this.mismatch);
        return;
      }
      done += want;
    }
  }

  private write(bytes: Buffer): void {
    for (let off = 0; off < bytes.length;) off += writeSync(this.fd!, bytes, off, bytes.length - off);
    this.fileSize += bytes.length;
  }

  private updateTail(lines: string[]): void {
    const max = this.tailChars;
    let piece = '';
    for (let i = lines.length - 1; i >= 0 && piece.length < max; i--) {
      const line = lines[i]!;
      piece = (line.length > max ? line.slice(-max) : line) + '\n' + piece;
    }
    let tail = (piece.length >= max ? piece : this.tailText + piece).slice(-max);
    // Never start with half of a surrogate pair.
    const first = tail.charCodeAt(0);
    if (first >= 0xdc00 && first <= 0xdfff) tail = tail.slice(1);
    this.tailText = tail;
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
