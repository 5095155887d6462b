import { describe, expect, it } from 'vitest';
import { prng, streamFixture as fixture } from '../../fixtures/streams.js';
import {
  LineSplitter,
  lineKind,
  lineText,
  parseObject,
  type Line,
  type LineKind,
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

function splitLines(bytes: Buffer, cuts: number[], onLine: (line: Line) => void): void {
  const splitter = new LineSplitter();
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    splitter.push(bytes.subarray(prev, cut), onLine);
    prev = cut;
  }
  splitter.end(onLine);
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
    const onLine = (line: Line) => out.push(seen(line));
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

  it('passes a 20 MB line fed in 64 KiB chunks through as its pieces, parsing only when asked', () => {
    const body = 'x'.repeat(10 * 1024 * 1024) + 'é'.repeat(5 * 1024 * 1024); // 20 MiB of UTF-8
    const line = JSON.stringify({ type: 'user', content: body });
    const bytes = Buffer.from(
      `{"type":"system"}\n${line}\n${'t'.repeat(20 * 1024 * 1024)}\n{"type":"result"}`,
    );
    const lines: Line[] = [];
    const cuts = [];
    for (let i = 65536; i < bytes.length; i += 65536) cuts.push(i);
    splitLines(bytes, cuts, (l) => lines.push(l));
    expect(lines.map(lineKind)).toEqual(['object', 'bulk', 'text', 'object']);
    const big = lines[1]!;
    expect(big.pieces.length).toBeGreaterThan(300); // views into the chunks, never joined
    expect(big.length).toBe(Buffer.byteLength(line));
    expect(parseObject(big)?.content === body).toBe(true);
    expect(lines[2]!.length).toBe(20 * 1024 * 1024);
    expect(Buffer.concat([...lines.flatMap((l) => l.pieces), LF]).equals(Buffer.concat([bytes, LF]))).toBe(
      true,
    );
  });
});
