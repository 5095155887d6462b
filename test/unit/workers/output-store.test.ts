import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng, streamAroundLimit, streamFixture as fixture } from '../../fixtures/streams.js';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { readOutput, MAX_READ_LIMIT } from '../../../src/workers/output-reader.js';
import { OutputStore, truncationMarker, type OutputStoreOptions } from '../../../src/workers/output-store.js';
import { StreamIngest } from '../../../src/workers/stream-ingest.js';

const dir = mkdtempSync(join(tmpdir(), 'claude-pod-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
/** A fresh path in a fresh directory; `create: false` leaves the directory missing too. */
function tempPath(create = true): string {
  const sub = join(dir, String(++counter));
  if (create) mkdirSync(sub);
  return join(sub, 'out.jsonl');
}

/**
 * What the job worker does (StreamIngest: split, pass through, parse system/result lines, cut
 * lines over `maxLineBytes`). Chunk sizes come from `rand`, so batching differs between runs.
 */
function feed(store: OutputStore, stream: Buffer, rand: () => number, maxLineBytes?: number): void {
  const ingest = new StreamIngest(store, { maxLineBytes });
  const scale = rand() < 0.3 ? 64 : 40_000;
  for (let pos = 0; pos < stream.length;) {
    const size = 1 + Math.floor(rand() * scale);
    ingest.push(stream.subarray(pos, pos + size));
    pos += size;
  }
  ingest.end();
}

function run(path: string, stream: Buffer, options: OutputStoreOptions, seed: number, maxLineBytes?: number) {
  const store = OutputStore.open(path, options);
  feed(store, stream, prng(seed), maxLineBytes);
  const state = {
    size: store.size,
    tail: store.tail(),
    truncated: store.truncated,
    replaying: store.replaying,
    replayMismatch: store.replayMismatch,
  };
  store.close();
  return { bytes: readFileSync(path), ...state };
}

const LF = Buffer.from('\n');

/**
 * The output file as the whole stream says it should be, without chunks or a parser: every
 * line and its '\n' count against `cap`. A whole line (at most `maxLine` bytes; '\r\n' becomes
 * '\n', empty lines are dropped) that would cross the cap becomes the marker; a longer line is
 * kept verbatim up to the cap, ended with '\n' where it was cut, then the marker.
 */
function expectedOutput(stream: Buffer, maxLine: number, cap: number, stats = { cutAtCap: 0 }): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  const add = (bytes: Buffer) => {
    out.push(bytes);
    size += bytes.length;
  };
  const marker = Buffer.from(truncationMarker(cap) + '\n');
  for (let start = 0; start < stream.length;) {
    const nl = stream.indexOf(0x0a, start);
    const end = nl === -1 ? stream.length : nl;
    let raw = stream.subarray(start, end);
    start = end + 1;
    if (raw.length > maxLine) {
      const room = cap === 0 ? Number.POSITIVE_INFINITY : cap - size - 1;
      if (raw.length <= room) {
        add(raw);
        add(LF);
        continue;
      }
      if (room > 0) {
        add(raw.subarray(0, room));
        add(LF);
        stats.cutAtCap++;
      }
      add(marker);
      break;
    }
    if (raw.at(-1) === 0x0d) raw = raw.subarray(0, -1);
    if (raw.length === 0) continue;
    if (cap > 0 && size + raw.length + 1 > cap) {
      add(marker);
      break;
    }
    add(raw);
    add(LF);
  }
  return Buffer.concat(out);
}

/** A long-line stream and a cap that falls inside one of its cut lines (in the uncapped output). */
function longLineCase(seed: number, maxLine: number) {
  const rand = prng(seed);
  for (;;) {
    const stream = streamAroundLimit(rand, maxLine, { lines: 30, longFactor: 12 });
    const full = expectedOutput(stream, maxLine, 0);
    let offset = 0;
    for (const line of full.toString('latin1').split('\n')) {
      if (line.length > maxLine && offset > full.length / 3) {
        return { stream, full, capInCutLine: offset + Math.floor(line.length / 2) };
      }
      offset += line.length + 1;
    }
  }
}

describe('OutputStore', () => {
  it('writes each line plus \\n, creating directories, and keeps size and tail', () => {
    const path = join(dir, 'deep', 'er', 'out.jsonl');
    const store = OutputStore.open(path, { maxOutputSize: 0, tailChars: 10 });
    store.appendLines(['{"a":1}', 'héllo']);
    store.appendLines([]);
    store.appendLines(['wörld 🚀']);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\nhéllo\nwörld 🚀\n');
    expect(store.size).toBe(Buffer.byteLength('{"a":1}\nhéllo\nwörld 🚀\n'));
    expect(store.tail()).toBe('\nwörld 🚀\n');
    expect(store.truncated).toBe(false);
    store.close();
    store.close();
    expect(() => store.appendLines(['late'])).toThrow(expect.objectContaining({ code: ErrorCodes.INTERNAL }));
  });

  it('bytes reach the file at once (no buffering across calls)', () => {
    const path = tempPath();
    const store = OutputStore.open(path, { maxOutputSize: 0 });
    store.appendLines(['first']);
    expect(readFileSync(path, 'utf8')).toBe('first\n');
    store.close();
  });

  it('rejects invalid options with INVALID_ARGUMENT', () => {
    expect(() => OutputStore.open(tempPath(), { maxOutputSize: -1 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    expect(() => OutputStore.open(tempPath(), { maxOutputSize: 0, tailChars: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
  });

  it('tail keeps the last characters across many batches and huge lines', () => {
    const store = OutputStore.open(tempPath(), { maxOutputSize: 0 });
    let all = '';
    const rand = prng(3);
    for (let i = 0; i < 300; i++) {
      const lines = Array.from(
        { length: Math.floor(rand() * 4) },
        (_, j) => `line ${i}.${j} ${'ü'.repeat(rand() * 300)}`,
      );
      store.appendLines(lines);
      all += lines.map((l) => l + '\n').join('');
      expect(store.tail()).toBe(all.slice(-500));
    }
    store.appendLines(['x'.repeat(3_000_000)]);
    expect(store.tail()).toBe('x'.repeat(499) + '\n');
    store.close();
  });

  it('writes a 20 MB multi-byte line and small lines around it byte for byte', () => {
    const path = tempPath();
    const big = 'ab€'.repeat(4_000_000) + '🚀'; // 20 MB of UTF-8
    const store = OutputStore.open(path, { maxOutputSize: 0 });
    store.appendLines(['{"type":"system"}', big]);
    store.appendLines(['{"type":"result"}']);
    store.close();
    const expected = Buffer.from(`{"type":"system"}\n${big}\n{"type":"result"}\n`);
    expect(readFileSync(path).equals(expected)).toBe(true);
  });

  describe('maxOutputSize', () => {
    it('writes one marker instead of the line that crosses the cap, then nothing (a result neither)', () => {
      const path = tempPath();
      const store = OutputStore.open(path, { maxOutputSize: 20 });
      store.appendLines(['0123456789']); // 11 bytes
      store.appendLines(['abcdefgh', 'dropped']); // 9 bytes: exactly 20, then over
      store.appendLines(['also dropped']);
      store.appendLines(['{"type":"result"}']);
      store.appendLines(['dropped too']);
      const expected = `0123456789\nabcdefgh\n${truncationMarker(20)}\n`;
      expect(readFileSync(path, 'utf8')).toBe(expected);
      expect(store.truncated).toBe(true);
      expect(store.size).toBe(Buffer.byteLength(expected));
      expect(store.tail()).toBe(expected.slice(-500));
      store.close();
    });

    it('counts bytes, not characters', () => {
      const path = tempPath();
      const store = OutputStore.open(path, { maxOutputSize: 8 });
      store.appendLines(['ééé']); // 7 bytes with \n
      store.appendLines(['é']); // 3 more: over
      expect(readFileSync(path, 'utf8')).toBe(`ééé\n${truncationMarker(8)}\n`);
      store.close();
    });

    it('0 means unlimited', () => {
      const path = tempPath();
      const store = OutputStore.open(path, { maxOutputSize: 0 });
      store.appendLines(['y'.repeat(100_000)]);
      store.appendLines(['{"type":"result"}']);
      expect(store.truncated).toBe(false);
      expect(store.size).toBe(100_001 + 18);
      store.close();
    });

    it('a recorded stream past the cap ends with the marker: the result counts like any line', () => {
      const { bytes, truncated } = run(tempPath(), fixture('tool-use.jsonl'), { maxOutputSize: 50_000 }, 1);
      const lines = bytes.toString('utf8').split('\n');
      expect(truncated).toBe(true);
      expect(lines.at(-1)).toBe('');
      expect(lines.at(-2)).toBe(truncationMarker(50_000));
      expect(bytes.toString('utf8')).not.toContain('"type":"result"');
      expect(bytes.length).toBeLessThanOrEqual(50_000 + Buffer.byteLength(truncationMarker(50_000) + '\n'));
    });
  });

  describe('lines over the line limit (cut lines)', () => {
    const cutLine = (store: OutputStore, ...parts: string[]) => {
      store.beginCut();
      for (const part of parts) store.appendCut(Buffer.from(part));
      store.endCut();
      store.flush();
    };

    it("writes a cut line's bytes as they come, and its '\\n' at its end", () => {
      const path = tempPath();
      const store = OutputStore.open(path, { maxOutputSize: 0, tailChars: 8 });
      store.appendLines(['head']);
      store.beginCut();
      store.appendCut(Buffer.from('first part '));
      store.flush();
      expect(readFileSync(path, 'utf8')).toBe('head\nfirst part ');
      store.appendCut(Buffer.alloc(0));
      store.appendCut(Buffer.from('second\r'));
      store.endCut();
      store.appendLines(['next']);
      expect(readFileSync(path, 'utf8')).toBe('head\nfirst part second\r\nnext\n');
      expect(store.size).toBe(29);
      expect(store.tail()).toBe('d\r\nnext\n');
      store.close();
    });

    it('ends a cut line at the cap (what fits, then \\n), then the marker, then nothing', () => {
      const path = tempPath();
      const store = OutputStore.open(path, { maxOutputSize: 20 });
      store.appendLines(['abc']); // 4 bytes
      cutLine(store, '0123456789', 'ABCDEFGHIJ'); // 15 fit, then '\n': exactly 20
      cutLine(store, 'dropped');
      store.appendLines(['dropped']);
      const expected = `abc\n0123456789ABCDE\n${truncationMarker(20)}\n`;
      expect(readFileSync(path, 'utf8')).toBe(expected);
      expect(store.truncated).toBe(true);
      expect(store.size).toBe(Buffer.byteLength(expected));
      store.close();
    });

    it('a cut line that fits exactly is kept whole; one with no room left becomes the marker', () => {
      const exact = tempPath();
      const a = OutputStore.open(exact, { maxOutputSize: 10 });
      cutLine(a, '12345', '6789');
      expect(readFileSync(exact, 'utf8')).toBe('123456789\n');
      expect(a.truncated).toBe(false);
      cutLine(a, 'x');
      expect(readFileSync(exact, 'utf8')).toBe(`123456789\n${truncationMarker(10)}\n`);
      a.close();
    });

    it('refuses misuse with INTERNAL', () => {
      const store = OutputStore.open(tempPath(), { maxOutputSize: 0 });
      const internal = expect.objectContaining({ code: ErrorCodes.INTERNAL });
      expect(() => store.appendCut(Buffer.from('x'))).toThrow(internal);
      expect(() => store.endCut()).toThrow(internal);
      store.beginCut();
      expect(() => store.beginCut()).toThrow(internal);
      expect(() => store.appendLines(['x'])).toThrow(internal);
      store.endCut();
      store.close();
      expect(() => store.beginCut()).toThrow(internal);
    });

    it('random streams with long lines give the file the whole-stream model says, at any chunking (seeded)', () => {
      const rand = prng(0x5eed);
      const stats = { cutAtCap: 0 };
      for (let round = 0; round < 150; round++) {
        const maxLine = [16, 100, 1000][Math.floor(rand() * 3)]!;
        const stream = streamAroundLimit(rand, maxLine, { lines: 20, longFactor: 8 });
        const cap = rand() < 0.3 ? 0 : 1 + Math.floor(rand() * stream.length * 1.2);
        const expected = expectedOutput(stream, maxLine, cap, stats);
        for (let seed = 0; seed < 3; seed++) {
          const got = run(tempPath(), stream, { maxOutputSize: cap }, round * 10 + seed, maxLine);
          expect(got.bytes.equals(expected), `round ${round}, seed ${seed}`).toBe(true);
          expect(got.size).toBe(expected.length);
          expect(got.truncated).toBe(expected.includes(truncationMarker(cap)));
          if (cap > 0) {
            expect(got.bytes.length).toBeLessThanOrEqual(
              cap + Buffer.byteLength(truncationMarker(cap) + '\n'),
            );
          }
        }
      }
      expect(stats.cutAtCap).toBeGreaterThan(10);
    });
  });

  it('creates the file 0600 and its directories 0700; tightens an existing file', () => {
    const path = join(dir, 'perm', 'jobs', 'job-1', 'output.jsonl');
    OutputStore.open(path, { maxOutputSize: 0 }).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'perm', 'jobs', 'job-1')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'perm', 'jobs')).mode & 0o777).toBe(0o700);
    const old = tempPath();
    writeFileSync(old, 'old\n');
    chmodSync(old, 0o644);
    OutputStore.open(old, { maxOutputSize: 0 }).close();
    expect(statSync(old).mode & 0o777).toBe(0o600);
  });

  it('never changes the mode of what is not a regular file (a benchmark writes to /dev/null)', () => {
    const fifo = join(dir, 'a-fifo');
    execFileSync('mkfifo', ['-m', '0644', fifo]);
    const store = OutputStore.open(fifo, { maxOutputSize: 0 });
    store.close();
    expect(statSync(fifo).mode & 0o777).toBe(0o644);
  });

  describe('replay after a crash', () => {
    const long = longLineCase(0xc0ffee, 4096);
    const cases: Array<{
      name: string;
      options: OutputStoreOptions;
      stream?: Buffer;
      maxLineBytes?: number;
    }> = [
      { name: 'tool-use.jsonl', options: { maxOutputSize: 0 } },
      { name: 'tool-use.jsonl', options: { maxOutputSize: 120_000 } },
      { name: 'crlf.jsonl', options: { maxOutputSize: 0 } },
      { name: 'mixed-text.jsonl', options: { maxOutputSize: 1_000, tailChars: 100 } },
      { name: 'no-final-newline.jsonl', options: { maxOutputSize: 0 } },
      // The recording with a line limit below its largest lines: those are cut and streamed.
      { name: 'tool-use.jsonl', options: { maxOutputSize: 0 }, maxLineBytes: 2_000 },
      { name: 'long lines', options: { maxOutputSize: 0 }, stream: long.stream, maxLineBytes: 4096 },
      {
        name: 'long lines, cap inside a cut line',
        options: { maxOutputSize: long.capInCutLine },
        stream: long.stream,
        maxLineBytes: 4096,
      },
    ];
    for (const { name, options, stream: given, maxLineBytes } of cases) {
      it(`${name} (cap ${options.maxOutputSize}, line limit ${maxLineBytes ?? 'default'}): any crash point gives the uncrashed file`, () => {
        const stream = given ?? fixture(name);
        const reference = run(tempPath(), stream, options, 11, maxLineBytes);
        if (maxLineBytes !== undefined) {
          expect(reference.bytes.equals(expectedOutput(stream, maxLineBytes, options.maxOutputSize))).toBe(
            true,
          );
        }
        expect(reference.replayMismatch).toBe(false);
        const rand = prng(reference.bytes.length);
        const crashPoints = new Set([0, 1, reference.bytes.length - 1, reference.bytes.length]);
        while (crashPoints.size < 150) crashPoints.add(Math.floor(rand() * (reference.bytes.length + 1)));
        for (const point of crashPoints) {
          const path = tempPath();
          run(path, stream, options, 100 + point, maxLineBytes); // the crashed run, other chunking
          truncateSync(path, point); // ... died after writing `point` bytes
          const replayed = run(path, stream, options, 200 + point, maxLineBytes);
          expect(replayed.bytes.equals(reference.bytes), `crash at byte ${point}`).toBe(true);
          expect(replayed).toMatchObject({
            size: reference.size,
            tail: reference.tail,
            truncated: reference.truncated,
            replaying: false,
            replayMismatch: false,
          });
        }
      });
    }

    it('a partial last line is cut on open, and size counts the replay as it goes', () => {
      const path = tempPath();
      writeFileSync(path, 'one\ntwo\nthr');
      const store = OutputStore.open(path, { maxOutputSize: 0 });
      expect(readFileSync(path, 'utf8')).toBe('one\ntwo\n');
      expect(store.replaying).toBe(true);
      expect(store.size).toBe(0);
      store.appendLines(['one']);
      expect(store.size).toBe(4);
      expect(readFileSync(path, 'utf8')).toBe('one\ntwo\n');
      store.appendLines(['two', 'three']);
      expect(store.replaying).toBe(false);
      expect(readFileSync(path, 'utf8')).toBe('one\ntwo\nthree\n');
      expect(store.size).toBe(14);
      expect(store.tail()).toBe('one\ntwo\nthree\n');
      expect(store.replayMismatch).toBe(false);
      store.close();
    });

    it('flags a mismatch, keeps the existing bytes and appends whole lines after them', () => {
      const path = tempPath();
      writeFileSync(path, 'alpha\nBRAVO\ncharlie\n');
      const seen: unknown[] = [];
      const store = OutputStore.open(path, { maxOutputSize: 0, onReplayMismatch: (info) => seen.push(info) });
      store.appendLines(['alpha', 'bravo']);
      expect(store.replayMismatch).toBe(true);
      expect(store.replayMismatchInfo).toEqual({ offset: 6, existingSize: 20 });
      expect(seen).toEqual([{ offset: 6, existingSize: 20 }]);
      store.appendLines(['charlie-and-more', 'delta']);
      store.close();
      // The line that straddles the old end is written whole; nothing is written over old bytes.
      expect(readFileSync(path, 'utf8')).toBe('alpha\nBRAVO\ncharlie\ncharlie-and-more\ndelta\n');
    });

    it('flags a file written with a different cap and leaves it uncorrupted', () => {
      const stream = fixture('tool-use.jsonl');
      const path = tempPath();
      const first = run(path, stream, { maxOutputSize: 60_000 }, 5);
      expect(first.truncated).toBe(true);
      // The crashed run got as far as its marker; the replay (unlimited) has a line there instead.
      const existing = readFileSync(path);
      const replayed = run(path, stream, { maxOutputSize: 0 }, 6);
      expect(replayed.replayMismatch).toBe(true);
      expect(replayed.bytes.subarray(0, existing.length).equals(existing)).toBe(true);
      const text = replayed.bytes.toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(JSON.parse(text.split('\n').at(-2)!)).toMatchObject({ type: 'result' });
    });

    it('an empty or missing file is a fresh start', () => {
      const path = tempPath(false);
      expect(existsSync(path)).toBe(false);
      const store = OutputStore.open(path, { maxOutputSize: 0 });
      expect(store.replaying).toBe(false);
      store.close();
      expect(readFileSync(path).length).toBe(0);
      const again = OutputStore.open(path, { maxOutputSize: 0 });
      expect(again.replaying).toBe(false);
      expect(again.size).toBe(0);
      again.close();
    });
  });
});

describe('readOutput', () => {
  const text = Array.from(
    { length: 60 },
    (_, i) => `${i}: plain ascii, é, 日本語, 🚀🚀, ${'ß'.repeat(i % 7)}${'€'.repeat(i % 5)}`,
  ).join('\n');
  const bytes = Buffer.from(text + '\n');
  const path = join(dir, 'reader', 'out.jsonl');

  async function pages(limit: number) {
    const parts: string[] = [];
    let offset = 0;
    for (let guard = 0; guard < 100_000; guard++) {
      const page = await readOutput(path, { offset, limit });
      expect(page.offset).toBe(offset);
      expect(page.size).toBe(bytes.length);
      expect(page.content.includes('\ufffd')).toBe(false);
      expect(Buffer.byteLength(page.content)).toBe(page.nextOffset - page.offset);
      parts.push(page.content);
      if (!page.hasMore) break;
      expect(page.nextOffset).toBeGreaterThan(offset);
      offset = page.nextOffset;
    }
    return parts;
  }

  it('pages over multi-byte text reassemble byte-identical content', async () => {
    const store = OutputStore.open(path, { maxOutputSize: 0 });
    store.appendLines(text.split('\n'));
    store.close();
    for (const limit of [1, 2, 3, 4, 5, 7, 64, 1000, 65536]) {
      const parts = await pages(limit);
      expect(Buffer.from(parts.join('')).equals(bytes), `limit ${limit}`).toBe(true);
      for (const part of parts.slice(0, -1))
        expect(Buffer.byteLength(part)).toBeLessThanOrEqual(Math.max(limit, 4));
    }
  });

  it('defaults to offset 0 and a 64 KiB limit', async () => {
    const page = await readOutput(path, {});
    expect(page.offset).toBe(0);
    expect(page.nextOffset).toBeLessThanOrEqual(65536);
    expect(page.nextOffset).toBe(Math.min(bytes.length, page.nextOffset));
  });

  it('an offset inside a character moves forward to the next character', async () => {
    const inside = bytes.indexOf(Buffer.from('🚀')) + 1;
    const page = await readOutput(path, { offset: inside, limit: 8 });
    expect(page.offset).toBe(inside + 3);
    expect(page.content.startsWith('🚀')).toBe(true);
  });

  it('a missing file reads as empty, an offset past the end as empty with hasMore false', async () => {
    expect(await readOutput(join(dir, 'nope', 'missing.jsonl'), { offset: 0 })).toEqual({
      content: '',
      offset: 0,
      nextOffset: 0,
      size: 0,
      hasMore: false,
    });
    const past = await readOutput(path, { offset: bytes.length + 10 });
    expect(past).toMatchObject({ content: '', hasMore: false, size: bytes.length });
    const atEnd = await readOutput(path, { offset: bytes.length });
    expect(atEnd).toMatchObject({ content: '', hasMore: false, nextOffset: bytes.length });
  });

  it('caps the limit at 1 MiB', async () => {
    const big = tempPath();
    writeFileSync(big, 'z'.repeat(3 * MAX_READ_LIMIT));
    const page = await readOutput(big, { limit: 10 * MAX_READ_LIMIT });
    expect(page.nextOffset).toBe(MAX_READ_LIMIT);
    expect(page.hasMore).toBe(true);
  });

  it('rejects negative or non-integer offset and limit with INVALID_ARGUMENT', async () => {
    for (const opts of [
      { offset: -1 },
      { offset: 1.5 },
      { limit: -5 },
      { limit: 2.5 },
      { offset: Number.NaN },
    ]) {
      await expect(readOutput(path, opts)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    }
  });
});
