import { describe, expect, it } from 'vitest';
import { emptyClaudeReport } from '../../../src/shared/protocol.js';
import { boundedJson, boundedString } from '../../../src/workers/bounded-value.js';
import { applyEvent, REPORT_LIMITS, resultCutNote } from '../../../src/workers/claude-report.js';

/** Whatever an event held, the report's JSON (what registry.json keeps) stays about this small. */
const REPORT_JSON_BOUND = 8 * 1024;

describe('applyEvent', () => {
  it('takes what status() shows from system/init and result', () => {
    const report = emptyClaudeReport();
    const uuid = '0b7d3c1e-51a4-4f3e-9d1c-7a2f8e6b4c10';
    expect(applyEvent(report, { type: 'system', subtype: 'init', session_id: uuid, model: 'claude-x' })).toBe(
      false,
    );
    const usage = { input_tokens: 3, output_tokens: 5, server_tool_use: { web_search_requests: 0 } };
    expect(
      applyEvent(report, {
        type: 'result',
        subtype: 'success',
        is_error: false,
        num_turns: 2,
        total_cost_usd: 0.01,
        duration_ms: 1200,
        result: 'All done 🚀',
        usage,
      }),
    ).toBe(true);
    expect(report).toEqual({
      sessionId: uuid,
      model: 'claude-x',
      numTurns: 2,
      costUsd: 0.01,
      durationMs: 1200,
      usage,
      result: 'All done 🚀',
      resultSubtype: 'success',
      isError: false,
    });
  });

  it('bounds every field, whatever a hostile event holds', () => {
    const report = emptyClaudeReport();
    const huge = 'h'.repeat(2_000_000);
    const deep: Record<string, unknown> = {};
    let node = deep;
    const big = 'b'.repeat(10_000);
    for (let i = 0; i < 1000; i++) node = (node.next = { s: big }) as Record<string, unknown>;
    const manyKeys = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]));
    applyEvent(report, { type: 'system', subtype: 'init', session_id: huge, model: huge });
    applyEvent(report, {
      type: 'result',
      subtype: huge,
      result: '€'.repeat(1_000_000),
      session_id: '../../etc/passwd',
      // Unbounded, this usage alone would be ~12 MB of JSON.
      usage: { ...manyKeys, deep, list: Array.from({ length: 100 }, () => big), [huge]: 1 },
    });
    expect(report.sessionId).toBeNull(); // not a session id: never passed to --resume
    expect(report.model!.length).toBeLessThanOrEqual(REPORT_LIMITS.shortChars);
    expect(report.resultSubtype!.length).toBeLessThanOrEqual(REPORT_LIMITS.shortChars);
    expect(report.result!.length).toBeLessThanOrEqual(REPORT_LIMITS.resultChars);
    expect(report.result!.endsWith(resultCutNote(1_000_000))).toBe(true);
    expect(report.result!.startsWith('€€€')).toBe(true);
    expect(JSON.stringify(report.usage).length).toBeLessThan(3 * 1024);
    expect(JSON.stringify(report).length).toBeLessThan(REPORT_JSON_BOUND);
    expect(Buffer.byteLength(JSON.stringify(report))).toBeLessThan(3 * REPORT_JSON_BOUND);
  });

  it('keeps the first valid session id; ignores non-string, oversized or odd ones', () => {
    const report = emptyClaudeReport();
    applyEvent(report, { type: 'assistant', session_id: 42 });
    applyEvent(report, { type: 'assistant', session_id: 'a'.repeat(129) });
    applyEvent(report, { type: 'assistant', session_id: '-rf' });
    expect(report.sessionId).toBeNull();
    applyEvent(report, { type: 'assistant', session_id: 'ok-1' });
    applyEvent(report, { type: 'assistant', session_id: 'ok-2' });
    expect(report.sessionId).toBe('ok-1');
  });
});

describe('boundedString and boundedJson', () => {
  it('cuts strings without splitting a surrogate pair, suffix included in the bound', () => {
    expect(boundedString('abc', 3)).toBe('abc');
    expect(boundedString('abcdef', 4)).toBe('abc…');
    expect(boundedString('a🚀🚀', 4)).toBe('a🚀…'.slice(0, 4));
    expect(boundedString('🚀🚀🚀', 4)).toBe('🚀…');
    expect(boundedString('abcdef', 2, () => '[cut]')).toBe('[c');
  });

  it('prunes by depth and budget, keeps the shape valid JSON, never sets a prototype', () => {
    const value = JSON.parse(
      '{"a":1,"b":{"c":{"d":{"e":1}}},"__proto__":{"x":1},"s":"' + 'z'.repeat(50) + '"}',
    );
    const out = boundedJson(value, { maxChars: 1000, maxDepth: 3, maxString: 10 }) as Record<string, unknown>;
    expect(out).toEqual({ a: 1, b: { c: {} }, s: 'zzzzzzzzz…' });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    const list = boundedJson(
      Array.from({ length: 100 }, (_, i) => i),
      { maxChars: 100, maxDepth: 2, maxString: 10 },
    );
    expect((list as number[]).length).toBeLessThan(10);
    expect(boundedJson({ n: Number.NaN }, { maxChars: 100, maxDepth: 2, maxString: 10 })).toEqual({
      n: null,
    });
  });
});
