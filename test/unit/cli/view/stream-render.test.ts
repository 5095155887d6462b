/* eslint-disable no-control-regex -- these tests look for terminal control characters */
import { describe, expect, it } from 'vitest';
import { makeColors } from '../../../../src/cli/view/colors.js';
import { renderStreamLine } from '../../../../src/cli/view/render.js';
import { parseStreamLine, type StreamLine } from '../../../../src/cli/view/stream-line.js';
import { addToTally, emptyTally } from '../../../../src/cli/view/tally.js';
import { toolCallDetail } from '../../../../src/cli/view/tool-call.js';
import { streamFixture } from '../../../fixtures/streams.js';

const plain = makeColors(false);
const lines = (name: string) => streamFixture(name).toString('utf8').split('\n').filter(Boolean);
const render = (parsed: StreamLine, width: number | null = null) =>
  renderStreamLine(parsed, { colors: plain, width });

function renderAll(name: string, width: number | null = null): string[] {
  return lines(name).flatMap((l) => render(parseStreamLine(l), width));
}

const assistant = (content: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'assistant',
    message: { id: 'm1', content, usage: { input_tokens: 3, output_tokens: 5 } },
    ...extra,
  });

describe('stream-json → display lines', () => {
  it('shows the recorded tool-use session as a person reads it', () => {
    expect(renderAll('tool-use.jsonl')).toEqual([
      '● Claude Code 2.1.197 · claude-sonnet-4-5-20250929 · /workspace',
      "I'll read the parser first, then rewrite it — let me look at `src/parse.ts`.",
      '→ Read src/parse.ts',
      expect.stringMatching(/^[^\n]+$/),
      '→ Write src/parse.ts',
      '→ Bash npm test 2>&1 | tail -n 20',
      expect.stringMatching(/^Done: `src\/parse.ts` rewritten/),
    ]);
  });

  it('one line per tool call, whatever the input, cut to the terminal width', () => {
    const long = assistant([
      { type: 'tool_use', id: 't1', name: 'Bash', input: { command: `echo ${'x'.repeat(300)}\nrm -rf /` } },
    ]);
    const [line] = render(parseStreamLine(long), 60);
    expect(line).toMatch(/^→ Bash echo x+…$/);
    expect(Array.from(line!).length).toBeLessThanOrEqual(60);
  });

  it('names the key argument of each known tool', () => {
    expect(toolCallDetail('Edit', { file_path: '/workspace/a/b.ts', old_string: 'x' })).toBe('a/b.ts');
    expect(toolCallDetail('Read', { file_path: '/etc/hosts' })).toBe('/etc/hosts');
    expect(toolCallDetail('Grep', { pattern: 'TODO', path: '/workspace/src' })).toBe('TODO in src');
    expect(toolCallDetail('Glob', { pattern: '**/*.ts' })).toBe('**/*.ts');
    expect(toolCallDetail('WebFetch', { url: 'https://example.com', prompt: 'p' })).toBe(
      'https://example.com',
    );
    expect(toolCallDetail('TodoWrite', { todos: [{ status: 'completed' }, { status: 'pending' }] })).toBe(
      '2 todos, 1 done',
    );
    expect(toolCallDetail('mcp__x__y', { query: 'q' })).toBe('q');
    expect(toolCallDetail('Bash', {})).toBe('');
  });

  it('strips terminal control sequences from text, tool arguments and notes', () => {
    const evil = '\x1b]0;pwned\x07\x1b[2J';
    const out = [
      ...render(parseStreamLine(assistant([{ type: 'text', text: `hi ${evil}there` }]))),
      ...render(
        parseStreamLine(
          assistant([{ type: 'tool_use', name: 'Bash', input: { command: `printf '${evil}'` } }]),
        ),
      ),
      ...render(
        parseStreamLine(
          JSON.stringify({
            type: 'user',
            message: {
              content: [{ type: 'tool_result', tool_use_id: 't', is_error: true, content: `boom ${evil}` }],
            },
          }),
        ),
      ),
      ...render(parseStreamLine(`not json ${evil}`)),
    ];
    expect(out).toEqual(['hi there', "→ Bash printf ''", '  ✗ boom', '│ not json']);
    expect(out.join('')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('indents what a sub-agent does and shows failed tool results only', () => {
    const sub = parseStreamLine(
      assistant([{ type: 'tool_use', name: 'Grep', input: { pattern: 'x' } }], {
        parent_tool_use_id: 'task-1',
      }),
    );
    expect(render(sub)).toEqual(['  ↳ Grep x']);
    const ok = parseStreamLine(
      JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', content: 'fine' }] } }),
    );
    expect(render(ok)).toEqual([]);
  });

  it('ignores blank lines, keeps non-JSON lines as notes', () => {
    expect(parseStreamLine('   ')).toEqual({ kind: 'ignored' });
    expect(parseStreamLine('{"broken')).toEqual({ kind: 'note', text: '{"broken' });
    expect(
      render(parseStreamLine('[claude-pod] output truncated: maxOutputSize (10 bytes) reached')),
    ).toEqual(['│ [claude-pod] output truncated: maxOutputSize (10 bytes) reached']);
  });
});

describe('tally', () => {
  it('counts turns per message, sums usage per message (not per line), then takes the result', () => {
    const tally = emptyTally();
    const parsed = lines('tool-use.jsonl').map(parseStreamLine);
    for (const p of parsed.slice(0, -1)) addToTally(tally, p);
    // Three assistant messages; the Write message's usage is counted once, at its last value.
    expect(tally.turns).toBe(3);
    expect(tally.toolCalls).toBe(3);
    expect(tally.tokens).toEqual({ input: 3 * (4 + 12873), output: 40 + 9800 + 40 });
    expect(tally.costUsd).toBeNull();
    expect(tally.filesTouched).toEqual(['src/parse.ts']);
    addToTally(tally, parsed.at(-1)!);
    expect(tally.turns).toBe(4);
    expect(tally.costUsd).toBe(0.0829135);
    expect(tally.result?.isError).toBe(false);
  });

  it('does not count a sub-agent message as a turn', () => {
    const tally = emptyTally();
    addToTally(tally, parseStreamLine(assistant([{ type: 'text', text: 'x' }], { parent_tool_use_id: 't' })));
    expect(tally.turns).toBe(0);
    expect(tally.tokens).toEqual({ input: 3, output: 5 });
  });
});
