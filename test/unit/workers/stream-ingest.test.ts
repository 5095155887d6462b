import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { streamFixture as fixture } from '../../fixtures/streams.js';
import { OutputStore } from '../../../src/workers/output-store.js';
import { StreamIngest } from '../../../src/workers/stream-ingest.js';

const dir = mkdtempSync(join(tmpdir(), 'claude-pod-ingest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function ingestAll(stream: Buffer, chunk: number, maxOutputSize = 0) {
  const path = join(dir, `out-${++counter}.jsonl`);
  const store = OutputStore.open(path, { maxOutputSize });
  const ingest = new StreamIngest(store);
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

  it('forces the result past maxOutputSize', () => {
    const stream = fixture('tool-use.jsonl');
    const { ingest, output } = ingestAll(stream, 1000, 2000);
    const lines = output.toString().trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/^\[claude-pod\] output truncated/);
    expect(JSON.parse(lines.at(-1)!).type).toBe('result');
    expect(ingest.sawResult).toBe(true);
  });
});
