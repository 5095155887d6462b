import { describe, expect, it } from 'vitest';
import { prng, streamAroundLimit, streamFixture as fixture } from '../../fixtures/streams.js';
import {
  DEFAULT_MAX_LINE_BYTES,
  LineSplitter,
  lineKind,
  lineText,
  parseObject,
  type Line,
  type LineKind,
  type LineSink,
} from '../../../src/workers/stream-json.js';

/** What a line gives: its text, the bytes the output file gets (as latin1), its value if an object. */
interface Seen {
  raw: string;
  out: string;
  value: Record<string, unknown> | null;
}
const LF = Buffer.from('\n');
const bin = (bytes: Buffer): string => bytes.toString('latin1');

const FIXTURES = [
  'simple.jsonl',
  'tool-use.jsonl',
  'crlf.jsonl',
  'mixed-text.jsonl',
  'no-final-newline.jsonl',
];

/** The reference: split the whole stream into lines at once, the obvious way. */
function wholeLineParse(bytes: Buffer): Seen[] {
  const out: Seen[] = [];
  for (let start = 0; start < bytes.length;) {
    let nl = bytes.indexOf(0x0a, start);
    if (nl === -1) nl = bytes.length;
    let line = bytes.subarray(start, nl);
    start = nl + 1;
    if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
    if (line.length === 0) continue;
    const raw = line.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
    out.push({
      raw,
      out: bin(Buffer.concat([line, LF])),
      value: isObject ? (value as Record<string, unknown>) : null,
    });
  }
  return out;
}

const seen = (line: Line): Seen => ({
  raw: lineText(line),
  out: bin(Buffer.concat(line.terminated ? line.pieces : [...line.pieces, LF])),
  value: lineKind(line) === 'text' ? null : parseObject(line),
});

/** A sink for streams whose lines are all within the limit: a cut line fails the test. */
function linesOnly(onLine: (line: Line) => void): LineSink {
  const unexpected = () => {
    throw new Error('unexpected cut line');
  };
  return { line: onLine, cutStart: unexpected, cutBytes: unexpected, cutEnd: unexpected };
}

function splitLines(bytes: Buffer, cuts: number[], onLine: (line: Line) => void, max?: number): void {
  const splitter = new LineSplitter(max);
  const sink = linesOnly(onLine);
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    splitter.push(bytes.subarray(prev, cut), sink);
    prev = cut;
  }
  splitter.end(sink);
}

function parseChunks(bytes: Buffer, cuts: number[]): Seen[] {
  const out: Seen[] = [];
  splitLines(bytes, cuts, (line) => out.push(seen(line)));
  return out;
}

function kinds(bytes: Buffer): LineKind[] {
  const out: LineKind[] = [];
  splitLines(bytes, [], (line) => out.push(lineKind(line)));
  return out;
}

function randomCuts(length: number, rand: () => number): number[] {
  const cuts: number[] = [];
  // Mix tiny, medium and large chunks in one stream.
  const scale = [1, 2, 8, 64, 1024, 16384, 65536][Math.floor(rand() * 7)]!;
  for (let pos = 0; ;) {
    pos += 1 + Math.floor(rand() * (rand() < 0.2 ? 4 : scale));
    if (pos >= length) return cuts;
    cuts.push(pos);
  }
}

/** Positions inside multi-byte UTF-8 characters and between \r and \n. */
function trickyPositions(bytes: Buffer): number[] {
  const positions: number[] = [];
  for (let i = 1; i < bytes.length; i++) {
    if ((bytes[i]! & 0xc0) === 0x80 || (bytes[i - 1] === 0x0d && bytes[i] === 0x0a)) positions.push(i);
  }
  return positions;
}

describe('LineSplitter and lineKind', () => {
  for (const name of FIXTURES) {
    describe(name, () => {
      const bytes = fixture(name);
      const expected = wholeLineParse(bytes);

      it('a single push gives the whole-line parse', () => {
        expect(expected.length).toBeGreaterThan(2);
        expect(parseChunks(bytes, [])).toEqual(expected);
      });

      it('gives the same lines at random chunk boundaries (seeded)', () => {
        const rand = prng(0xc1a0de + bytes.length);
        const rounds = bytes.length > 100_000 ? 80 : 400;
        for (let round = 0; round < rounds; round++) {
          expect(parseChunks(bytes, randomCuts(bytes.length, rand))).toEqual(expected);
        }
      });

      it('gives the same lines when cut inside every multi-byte character and CRLF', () => {
        const tricky = trickyPositions(bytes);
        expect(tricky.length).toBeGreaterThan(0);
        // Every tricky position as a two-chunk split (a spread of 400 of them for the large fixtures).
        const step = Math.max(1, Math.floor(tricky.length / 400));
        for (let i = 0; i < tricky.length; i += step) {
          expect(parseChunks(bytes, [tricky[i]!])).toEqual(expected);
        }
        // And all of them at once.
        expect(parseChunks(bytes, tricky)).toEqual(expected);
      });

      it('gives the same lines from 1-byte chunks', () => {
        const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
        expect(parseChunks(bytes, cuts)).toEqual(expected);
      });
    });
  }

  it('normalises CRLF: the CRLF recording yields the same lines as the LF one', () => {
    const lf = parseChunks(fixture('tool-use.jsonl'), []);
    const crlf = parseChunks(fixture('crlf.jsonl'), []);
    expect(crlf).toEqual(lf);
    expect(crlf.every((l) => !l.raw.includes('\r') && !l.out.includes('\r'))).toBe(true);
  });

  it('kinds: bulk events by their bytes, other objects to parse, the rest text; empty lines dropped', () => {
    const bytes = fixture('mixed-text.jsonl');
    expect(kinds(bytes)).toEqual([
      'text', // runtime warning
      'object', // init
      'text', // npm warning
      'object', // indented JSON object: not the exact prefix, so it is parsed
      'text', // array
      'text', // number
      'text', // string
      'object', // starts with { but is not JSON: parsing says so
      'object', // a cut-off assistant event: no closing brace, so parsed (and refused)
      'text', // a tab-only line is not empty
      'object', // result
    ]);
    const lines = parseChunks(bytes, []);
    expect(lines.map((l) => l.value !== null)).toEqual([
      false,
      true,
      false,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    const indented = lines[3]!;
    expect(indented.raw.startsWith('   {')).toBe(true);
    expect(indented.value?.type).toBe('assistant');
    expect(lines[10]!.value?.is_error).toBe(true);
  });

  it('a bulk line is always a JSON object of its type in the recordings', () => {
    let bulk = 0;
    for (const name of FIXTURES) {
      const bytes = fixture(name);
      const reference = wholeLineParse(bytes);
      const k = kinds(bytes);
      expect(k.length).toBe(reference.length);
      bulk += k.filter((kind) => kind === 'bulk').length;
      k.forEach((kind, i) => {
        if (kind === 'bulk')
          expect(['assistant', 'user', 'stream_event']).toContain(reference[i]!.value?.type);
        if (kind === 'text') expect(reference[i]!.value).toBeNull();
      });
    }
    expect(bulk).toBe(20); // 9 in each tool-use recording (LF, CRLF), 1 in simple, 1 in no-final-newline (its cut-off last line is parsed)
  });

  it('end() flushes a final line without newline, and strips its \\r', () => {
    const splitter = new LineSplitter();
    const out: Seen[] = [];
    const onLine = linesOnly((line: Line) => out.push(seen(line)));
    splitter.push(Buffer.from('{"a":1}\r\npartial'), onLine);
    expect(out).toEqual([{ raw: '{"a":1}', out: '{"a":1}\n', value: { a: 1 } }]);
    splitter.push(Buffer.from(' line\r'), onLine);
    expect(out.length).toBe(1);
    splitter.end(onLine);
    expect(out[1]).toEqual({ raw: 'partial line', out: 'partial line\n', value: null });
    splitter.end(onLine);
    splitter.push(Buffer.from('{"b":2}'), onLine);
    expect(out.length).toBe(2);
    splitter.end(onLine);
    expect(out[2]).toEqual({ raw: '{"b":2}', out: '{"b":2}\n', value: { b: 2 } });
  });

  it('keeps a lone \\r inside a line and drops \\r-only lines', () => {
    const lines = parseChunks(Buffer.from('a\rb\n\r\n\n{"x":"\\r"}\r\n'), [2, 4, 5]);
    expect(lines).toEqual([
      { raw: 'a\rb', out: 'a\rb\n', value: null },
      { raw: '{"x":"\\r"}', out: '{"x":"\\r"}\n', value: { x: '\r' } },
    ]);
  });

  it('decodes invalid UTF-8 the same way wherever the chunks are cut', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"t":"'),
      Buffer.from([0xe6, 0x97, 0xff, 0xc3]),
      Buffer.from('"}\nok \xe2\x82'),
      Buffer.from([0xe2, 0x82, 0xac, 0x0a]),
    ]);
    const expected = wholeLineParse(bytes);
    expect(expected[0]!.value).not.toBeNull();
    const rand = prng(7);
    for (let round = 0; round < 200; round++)
      expect(parseChunks(bytes, randomCuts(bytes.length, rand))).toEqual(expected);
  });

  it('passes a 20 MB line (under a 64 MiB limit) fed in 64 KiB chunks through as its pieces, parsing only when asked', () => {
    const body = 'x'.repeat(10 * 1024 * 1024) + 'é'.repeat(5 * 1024 * 1024); // 20 MiB of UTF-8
    const line = JSON.stringify({ type: 'user', content: body });
    const bytes = Buffer.from(
      `{"type":"system"}\n${line}\n${'t'.repeat(20 * 1024 * 1024)}\n{"type":"result"}`,
    );
    const lines: Line[] = [];
    const cuts = [];
    for (let i = 65536; i < bytes.length; i += 65536) cuts.push(i);
    splitLines(bytes, cuts, (l) => lines.push(l), 64 * 1024 * 1024);
    expect(lines.map(lineKind)).toEqual(['object', 'bulk', 'text', 'object']);
    const big = lines[1]!;
    expect(big.pieces.length).toBeGreaterThan(300); // one piece per chunk, never joined
    expect(big.length).toBe(Buffer.byteLength(line));
    expect(parseObject(big)?.content === body).toBe(true);
    expect(lines[2]!.length).toBe(20 * 1024 * 1024);
    expect(Buffer.concat([...lines.flatMap((l) => l.pieces), LF]).equals(Buffer.concat([bytes, LF]))).toBe(
      true,
    );
  });
});

/** What a splitter delivers: whole lines as `Seen`, cut lines as their bytes (latin1). */
type Delivered = { line: Seen } | { cut: string; complete: boolean };

/** The reference for long lines: split the whole stream at once; a line over `max` is cut. */
function wholeStreamWithLimit(bytes: Buffer, max: number): Delivered[] {
  const out: Delivered[] = [];
  for (let start = 0; start < bytes.length;) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    const raw = bytes.subarray(start, end);
    start = end + 1;
    if (raw.length > max) {
      out.push({ cut: bin(raw), complete: nl !== -1 });
      continue;
    }
    for (const line of wholeLineParse(raw)) out.push({ line });
  }
  return out;
}

/**
 * Splits `bytes` at `cuts`, checking the splitter's promises on the way: it never holds more
 * than `max` bytes, never hands on a whole line over `max`, and a cut line's bytes arrive as
 * they come (non-empty, no '\n') between one cutStart and one cutEnd.
 */
function splitWithLimit(bytes: Buffer, cuts: number[], max: number): Delivered[] {
  // Plain checks (not expect) in here: this runs for every byte of thousands of streams.
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`splitter broke a promise: ${what}`);
  };
  const splitter = new LineSplitter(max);
  const out: Delivered[] = [];
  let cut: Buffer[] | null = null;
  const sink: LineSink = {
    line(line) {
      check(cut === null, 'a line inside a cut line');
      check(line.length <= max, 'a whole line over the limit');
      out.push({ line: seen(line) });
    },
    cutStart() {
      check(cut === null, 'cutStart twice');
      cut = [];
    },
    cutBytes(piece) {
      check(cut !== null, 'cutBytes outside a cut line');
      check(piece.length > 0 && !piece.includes(0x0a), 'empty cut bytes, or with a newline');
      cut!.push(Buffer.from(piece)); // pieces are borrowed: copy them to compare later
    },
    cutEnd(complete) {
      check(cut !== null, 'cutEnd outside a cut line');
      out.push({ cut: bin(Buffer.concat(cut!)), complete });
      cut = null;
    },
  };
  let prev = 0;
  for (const at of [...cuts, bytes.length]) {
    splitter.push(bytes.subarray(prev, at), sink);
    check(splitter.buffered <= max, 'held more than the limit');
    check(cut === null || splitter.buffered === 0, 'held bytes of a cut line');
    prev = at;
  }
  splitter.end(sink);
  check(cut === null, 'a cut line left open');
  return out;
}

describe('LineSplitter with a line limit', () => {
  it('the default limit is 4 MiB', () => {
    expect(new LineSplitter().maxLineBytes).toBe(DEFAULT_MAX_LINE_BYTES);
    expect(DEFAULT_MAX_LINE_BYTES).toBe(4 * 1024 * 1024);
    expect(() => new LineSplitter(0)).toThrow(RangeError);
    expect(() => new LineSplitter(1.5)).toThrow(RangeError);
  });

  it('cuts exactly the lines over the limit, the same at any chunk boundaries (seeded)', () => {
    const rand = prng(0x11e5);
    let cutLines = 0;
    for (let stream = 0; stream < 300; stream++) {
      const max = [1, 2, 7, 64, 100][Math.floor(rand() * 5)]!;
      const bytes = streamAroundLimit(rand, max);
      const expected = wholeStreamWithLimit(bytes, max);
      cutLines += expected.filter((d) => 'cut' in d).length;
      expect(splitWithLimit(bytes, [], max)).toEqual(expected);
      for (let round = 0; round < 6; round++) {
        expect(splitWithLimit(bytes, randomCuts(bytes.length, rand), max), `stream ${stream}`).toEqual(
          expected,
        );
      }
      const ones = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
      expect(splitWithLimit(bytes, ones, max)).toEqual(expected);
    }
    expect(cutLines).toBeGreaterThan(300);
  });

  it('a line of exactly the limit is whole, one byte more is cut (its \\r counts, and is kept)', () => {
    expect(splitWithLimit(Buffer.from('abcd\nabcde\nabc\r\nabcd\r\nok'), [], 4)).toEqual([
      { line: { raw: 'abcd', out: 'abcd\n', value: null } },
      { cut: 'abcde', complete: true },
      { line: { raw: 'abc', out: 'abc\n', value: null } },
      { cut: 'abcd\r', complete: true },
      { line: { raw: 'ok', out: 'ok\n', value: null } },
    ]);
    expect(splitWithLimit(Buffer.from('abcdef'), [2, 3], 4)).toEqual([{ cut: 'abcdef', complete: false }]);
  });

  it('hands a long line on as it arrives, holding nothing of it', () => {
    const splitter = new LineSplitter(16);
    const got: string[] = [];
    const sink: LineSink = {
      line: () => got.push('line'),
      cutStart: () => got.push('start'),
      cutBytes: (b) => got.push(b.toString()),
      cutEnd: (complete) => got.push(`end ${complete}`),
    };
    splitter.push(Buffer.from('0123456789'), sink);
    expect(got).toEqual([]);
    expect(splitter.buffered).toBe(10);
    splitter.push(Buffer.from('abcdefghij'), sink);
    expect(got).toEqual(['start', '0123456789', 'abcdefghij']);
    expect(splitter.buffered).toBe(0);
    splitter.push(Buffer.from('KLM'), sink);
    splitter.push(Buffer.from('\nok\n'), sink);
    expect(got).toEqual(['start', '0123456789', 'abcdefghij', 'KLM', 'end true', 'line']);
  });

  it('holds at most the limit of a 512 MiB line pushed in 64 KiB chunks', () => {
    const max = 1024 * 1024;
    const splitter = new LineSplitter(max);
    let cutBytes = 0;
    let peak = 0;
    const sink: LineSink = {
      line: () => {
        throw new Error('no whole line expected');
      },
      cutStart: () => undefined,
      cutBytes: (b) => (cutBytes += b.length),
      cutEnd: () => undefined,
    };
    const chunk = Buffer.alloc(64 * 1024, 'z');
    for (let i = 0; i < 8192; i++) {
      splitter.push(chunk, sink);
      peak = Math.max(peak, splitter.buffered);
    }
    expect(peak).toBeLessThanOrEqual(max);
    expect(cutBytes).toBe(512 * 1024 * 1024);
  });
});
