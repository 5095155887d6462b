import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { prng, streamAroundLimit, streamFixture as fixture } from '../../fixtures/streams.js';
import { REPORT_LIMITS } from '../../../src/workers/claude-report.js';
import { OutputStore, truncationMarker } from '../../../src/workers/output-store.js';
import { StreamIngest } from '../../../src/workers/stream-ingest.js';

const dir = mkdtempSync(join(tmpdir(), 'claude-pod-ingest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function ingestAll(stream: Buffer, chunk: number, maxOutputSize = 0, maxLineBytes?: number) {
  const path = join(dir, `out-${++counter}.jsonl`);
  const store = OutputStore.open(path, { maxOutputSize });
  const ingest = new StreamIngest(store, { maxLineBytes });
  for (let i = 0; i < stream.length; i += chunk) ingest.push(stream.subarray(i, i + chunk));
  ingest.end();
  store.close();
  return { ingest, output: readFileSync(path) };
}

describe('StreamIngest', () => {
  it('passes the bytes through, parses only system and result lines, and builds the report', () => {
    const stream = fixture('tool-use.jsonl');
    for (const chunk of [7, 4096, 1 << 20]) {
      const { ingest, output } = ingestAll(stream, chunk);
      expect(output.equals(stream)).toBe(true);
      expect(ingest.lines).toBe(11);
      expect(ingest.events).toBe(11);
      expect(ingest.parsed).toBe(2); // init and result; 9 assistant/user lines pass untouched
      expect(ingest.sawResult).toBe(true);
      expect(ingest.report.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(ingest.report.model).toBeTruthy();
      expect(ingest.report.resultSubtype).toBe('success');
    }
  });

  it('keeps nothing of a chunk after push: a reader may reuse one buffer for every read', () => {
    const streams = [
      fixture('tool-use.jsonl'),
      streamAroundLimit(prng(42), 4096, { lines: 40, longFactor: 12 }),
    ];
    // Lines of up to ~50 KB: cut at a 4 KiB limit, held across chunks under a 1 MiB one.
    const cases = streams.flatMap((stream) =>
      [4096, 1 << 20].flatMap((maxLineBytes) =>
        [7, 1000, 20_000, 65536].map((size) => ({ stream, maxLineBytes, size })),
      ),
    );
    for (const { stream, maxLineBytes, size } of cases) {
      const expected = ingestAll(stream, size, 0, maxLineBytes);
      const path = join(dir, `out-${++counter}.jsonl`);
      const store = OutputStore.open(path, { maxOutputSize: 0 });
      const ingest = new StreamIngest(store, { maxLineBytes });
      const reused = Buffer.alloc(size);
      for (let i = 0; i < stream.length; i += size) {
        const n = stream.copy(reused, 0, i, i + size);
        ingest.push(reused.subarray(0, n));
        reused.fill(0x58); // what a next read into the same memory would do
      }
      ingest.end();
      store.close();
      expect(readFileSync(path).equals(expected.output), `chunk ${size}, limit ${maxLineBytes}`).toBe(true);
      expect(ingest.report).toEqual(expected.ingest.report);
    }
  });

  it('normalises CRLF to the bytes of the LF recording', () => {
    const { output } = ingestAll(fixture('crlf.jsonl'), 333);
    expect(output.equals(fixture('tool-use.jsonl'))).toBe(true);
  });

  it('parses a bulk line while no session id is known, and a cut-off last line', () => {
    const head = '{"type":"assistant","message":{"content":[]},"session_id":"s-1"}\n';
    const cut = '{"type":"user","message":{"content":[{"type":"text","text":"}"}]}';
    const { ingest, output } = ingestAll(Buffer.from(head + head + cut), 5);
    expect(ingest.report.sessionId).toBe('s-1');
    // The first assistant line, and the cut-off one: it ends with `}` but is not JSON, and is
    // therefore not counted as an event (a bulk prefix alone would have counted it).
    expect(ingest.parsed).toBe(2);
    expect(ingest.events).toBe(2);
    expect(output.toString()).toBe(head + head + cut + '\n');
  });

  it('keeps mixed text, counting only objects as events', () => {
    const { ingest } = ingestAll(fixture('mixed-text.jsonl'), 64);
    expect(ingest.lines).toBe(11);
    expect(ingest.events).toBe(3);
    expect(ingest.report.isError).toBe(true);
  });

  it('counts the result against maxOutputSize like any line; the report still comes from it', () => {
    const stream = fixture('tool-use.jsonl');
    const { ingest, output } = ingestAll(stream, 1000, 2000);
    const lines = output.toString().trimEnd().split('\n');
    expect(lines.at(-1)).toBe(truncationMarker(2000));
    expect(output.toString()).not.toContain('"type":"result"');
    expect(output.length).toBeLessThanOrEqual(2000 + Buffer.byteLength(truncationMarker(2000) + '\n'));
    expect(ingest.sawResult).toBe(true);
    expect(ingest.report.resultSubtype).toBe('success');
    expect(ingest.report.numTurns).toBeGreaterThan(0);
  });

  it('40 × 1 MiB result lines against a 10 MiB cap: the file stays within cap + marker, the report is the last result', () => {
    const cap = 10 * 1024 * 1024;
    const lines = Array.from(
      { length: 40 },
      (_, i) =>
        JSON.stringify({
          type: 'result',
          subtype: 'success',
          is_error: false,
          num_turns: i,
          result: 'B'.repeat(1 << 20),
        }) + '\n',
    );
    const last = '{"type":"result","subtype":"success","is_error":false,"num_turns":41,"result":"Done."}\n';
    const { ingest, output } = ingestAll(Buffer.from(lines.join('') + last), 64 * 1024, cap);
    expect(output.length).toBeLessThanOrEqual(cap + Buffer.byteLength(truncationMarker(cap) + '\n'));
    expect(output.toString('latin1').endsWith(truncationMarker(cap) + '\n')).toBe(true);
    expect(ingest.linesCut).toBe(0);
    expect(ingest.parsed).toBe(41);
    // The last result, dropped from the file by the cap, is what the report says.
    expect(ingest.report).toMatchObject({ numTurns: 41, result: 'Done.' });
  });

  it('a result line over maxLineBytes is written whole but never parsed, and counted as cut', () => {
    const big = JSON.stringify({ type: 'result', subtype: 'success', result: 'A'.repeat(300_000) });
    const stream = Buffer.from(
      `{"type":"system","subtype":"init","session_id":"s-1","model":"m"}\n${big}\nafter\n`,
    );
    for (const chunk of [1000, 65536, 1 << 20]) {
      const { ingest, output } = ingestAll(stream, chunk, 0, 64 * 1024);
      expect(output.equals(stream)).toBe(true);
      expect(ingest).toMatchObject({ lines: 3, linesCut: 1, parsed: 1, events: 1, sawResult: false });
      expect(ingest.report).toMatchObject({ sessionId: 's-1', model: 'm', result: null });
    }
  });

  it('holds at most the line limit of a 512 MiB unterminated line and a 300 MiB result line', async () => {
    // Live memory after full collections. V8 frees ArrayBuffer memory on a concurrent sweeper,
    // so under CPU contention one reading can still count freed chunks: take the lowest of a few.
    const liveMemory = async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      let lowest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
        const usage = process.memoryUsage();
        lowest = Math.min(lowest, usage.heapUsed + usage.arrayBuffers);
      }
      return lowest;
    };
    const path = join(dir, `out-${++counter}.jsonl`);
    const cap = 10 * 1024 * 1024;
    const store = OutputStore.open(path, { maxOutputSize: cap });
    const ingest = new StreamIngest(store);
    const before = await liveMemory();
    // Fresh chunks, as a pipe delivers them: anything kept of them would show.
    const push = (bytes: number, fill: string) => {
      for (let left = bytes; left > 0; left -= 65536) ingest.push(Buffer.alloc(Math.min(left, 65536), fill));
    };
    ingest.push(Buffer.from('{"type":"result","subtype":"success","result":"'));
    push(300 * 1024 * 1024, 'A');
    ingest.push(Buffer.from('"}\n'));
    push(512 * 1024 * 1024, 'Z'); // no newline: the stream is still inside this line
    const held = (await liveMemory()) - before;
    ingest.end();
    store.close();
    expect(held).toBeLessThan(16 * 1024 * 1024);
    expect(ingest).toMatchObject({ lines: 2, linesCut: 2, parsed: 0, sawResult: false });
    expect(ingest.report.result).toBeNull();
    expect(statSync(path).size).toBeLessThanOrEqual(cap + Buffer.byteLength(truncationMarker(cap) + '\n'));
    expect(readFileSync(path, 'latin1').endsWith(`A\n${truncationMarker(cap)}\n`)).toBe(true);
  });

  it('keeps the report bounded (result cut with a note)', () => {
    const result = 'r'.repeat(100_000);
    const { ingest } = ingestAll(Buffer.from(JSON.stringify({ type: 'result', result }) + '\n'), 4096);
    expect(ingest.report.result!.length).toBeLessThanOrEqual(REPORT_LIMITS.resultChars);
    expect(ingest.report.result).toMatch(/\[claude-pod\] result cut: first 4096 of 100000 characters kept$/);
  });
});
