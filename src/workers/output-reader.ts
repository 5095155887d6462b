/**
 * Reads a page of a job's output file from the main thread: one open, one stat and one bounded
 * read, never the whole file. Offsets are byte offsets; a page never splits a UTF-8 character.
 */
import { open } from 'node:fs/promises';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

export const DEFAULT_READ_LIMIT = 64 * 1024;
/** Larger limits are capped to this: a page is meant to fit in a tool result. */
export const MAX_READ_LIMIT = 1024 * 1024;

export interface OutputPage {
  content: string;
  /** Where `content` starts: the requested offset, moved forward if it fell inside a character. */
  offset: number;
  /** Byte offset just past `content`: the next page's offset. */
  nextOffset: number;
  /** The file's size in bytes when it was read. */
  size: number;
  hasMore: boolean;
}

/** Longest UTF-8 sequence: a page that would be empty is stretched by at most this much. */
const MAX_CHAR_BYTES = 4;

function checkCount(name: string, value: unknown, min: 0 | 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new ClaudePodError(ErrorCodes.INVALID_ARGUMENT, `${name} must be ${what}`, {
      details: { field: name, [name]: value },
    });
  }
  return value;
}

const isContinuation = (byte: number): boolean => (byte & 0xc0) === 0x80;

/** Bytes of the character that starts with `lead` (1 for stray or invalid bytes). */
function charLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

/** The largest n <= end such that buf[0, n) does not end inside a character. */
function characterBoundary(buf: Buffer, end: number): number {
  // Step back over at most three continuation bytes to the character's first byte.
  let lead = end - 1;
  while (lead > 0 && end - lead < MAX_CHAR_BYTES && isContinuation(buf[lead]!)) lead--;
  if (lead < 0) return end;
  const first = buf[lead]!;
  if (isContinuation(first)) return end; // invalid bytes, not a character we could split
  return lead + charLength(first) > end ? lead : end;
}

export async function readOutput(
  path: string,
  opts: { offset?: number; limit?: number } = {},
): Promise<OutputPage> {
  let offset = checkCount('offset', opts.offset ?? 0, 0);
  // A page of nothing is never what a caller meant (and would never advance): limit is at least 1.
  const limit = Math.min(checkCount('limit', opts.limit ?? DEFAULT_READ_LIMIT, 1), MAX_READ_LIMIT);

  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { content: '', offset, nextOffset: offset, size: 0, hasMore: false };
    }
    throw error;
  }
  try {
    const size = (await handle.stat()).size;
    if (offset >= size) {
      return { content: '', offset, nextOffset: offset, size, hasMore: offset < size };
    }
    // Read a few bytes more than asked: to skip a partial character at the start and to finish
    // the last one when the limit is smaller than a character.
    const want = Math.min(limit + 2 * MAX_CHAR_BYTES, size - offset);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await handle.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    let start = 0;
    while (start < got && start < MAX_CHAR_BYTES - 1 && isContinuation(buf[start]!)) start++;
    offset += start;
    let end = characterBoundary(buf, Math.min(start + limit, got));
    if (end <= start) {
      // The limit is smaller than the next character: return that one character whole.
      end = Math.min(start + charLength(buf[start]!), got);
      end = characterBoundary(buf, end) > start ? end : start;
    }
    const content = buf.toString('utf8', start, end);
    const nextOffset = offset + (end - start);
    return { content, offset, nextOffset, size, hasMore: nextOffset < size };
  } finally {
    await handle.close();
  }
}
