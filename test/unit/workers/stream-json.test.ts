import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StreamJsonParser, type StreamLine } from '../../../src/workers/stream-json.js';

const fixture = (name: string): Buffer =>
  readFileSync(fileURLToPath(new URL(`../../fixtures/streams/${name}`, import.meta.url)));

const FIXTURES = [
  'simple.jsonl',
  'tool-use.jsonl',
  'crlf.jsonl',
  'mixed-text.jsonl',
  'no-final-newline.jsonl',
];

/** Seeded PRNG (mulberry32): the same cuts on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The reference: split the whole stream into lines at once, the obvious way. */
function wholeLineParse(bytes: Buffer): StreamLine[] {
  const out: StreamLine[] = [];
  for (let raw of bytes.toString('utf8').split('\n')) {
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out.push({ kind: 'json', raw, value: value as Record<string, unknown> });
    } else {
      out.push({ kind: 'text', raw });
    }
  }
  return out;
}

function parseChunks(bytes: Buffer, cuts: number[]): StreamLine[] {
  const parser = new StreamJsonParser();
  const out: StreamLine[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...parser.push(bytes.subarray(prev, cut)));
    prev = cut;
  }
  out.push(...parser.end());
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

describe('StreamJsonParser', () => {
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
    expect(crlf.every((l) => !l.raw.includes('\r'))).toBe(true);
  });

  it('keeps non-JSON and non-object lines as text, drops empty lines', () => {
    const lines = parseChunks(fixture('mixed-text.jsonl'), []);
    expect(lines.map((l) => l.kind)).toEqual([
      'text', // runtime warning
      'json', // init
      'text', // npm warning
      'json', // indented JSON object
      'text', // array
      'text', // number
      'text', // string
      'text', // starts with { but is not JSON
      'text', // a cut-off event
      'text', // a tab-only line is not empty
      'json', // result
    ]);
    const indented = lines[3]!;
    expect(indented.raw.startsWith('   {')).toBe(true);
    expect(indented.kind === 'json' && indented.value.type).toBe('assistant');
    const last = lines[10]!;
    expect(last.kind === 'json' && last.value.is_error).toBe(true);
  });

  it('end() flushes a final line without newline, and strips its \\r', () => {
    const parser = new StreamJsonParser();
    expect(parser.push(Buffer.from('{"a":1}\r\npartial'))).toEqual([
      { kind: 'json', raw: '{"a":1}', value: { a: 1 } },
    ]);
    expect(parser.push(Buffer.from(' line\r'))).toEqual([]);
    expect(parser.end()).toEqual([{ kind: 'text', raw: 'partial line' }]);
    expect(parser.end()).toEqual([]);
    expect(parser.push(Buffer.from('{"b":2}'))).toEqual([]);
    expect(parser.end()).toEqual([{ kind: 'json', raw: '{"b":2}', value: { b: 2 } }]);
  });

  it('keeps a lone \\r inside a line and drops \\r-only lines', () => {
    const lines = parseChunks(Buffer.from('a\rb\n\r\n\n{"x":"\\r"}\r\n'), [2, 4, 5]);
    expect(lines).toEqual([
      { kind: 'text', raw: 'a\rb' },
      { kind: 'json', raw: '{"x":"\\r"}', value: { x: '\r' } },
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
    expect(expected[0]!.kind).toBe('json');
    const rand = prng(7);
    for (let round = 0; round < 200; round++)
      expect(parseChunks(bytes, randomCuts(bytes.length, rand))).toEqual(expected);
  });

  it('parses a 20 MB line fed in 64 KiB chunks', () => {
    const body = 'x'.repeat(10 * 1024 * 1024) + 'é'.repeat(5 * 1024 * 1024); // 20 MiB of UTF-8
    const line = JSON.stringify({ type: 'user', content: body });
    const bytes = Buffer.from(
      `{"type":"system"}\n${line}\n${'t'.repeat(20 * 1024 * 1024)}\n{"type":"result"}`,
    );
    const parser = new StreamJsonParser();
    const out: StreamLine[] = [];
    for (let i = 0; i < bytes.length; i += 65536) out.push(...parser.push(bytes.subarray(i, i + 65536)));
    out.push(...parser.end());
    expect(out.map((l) => l.kind)).toEqual(['json', 'json', 'text', 'json']);
    const big = out[1]!;
    expect(big.raw.length).toBe(line.length);
    expect(big.kind === 'json' && big.value.content === body).toBe(true);
    expect(out[2]!.raw.length).toBe(20 * 1024 * 1024);
  });
});
