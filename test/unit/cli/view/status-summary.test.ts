/* eslint-disable no-control-regex -- these tests look for terminal control characters */
import { describe, expect, it } from 'vitest';
import { colorEnabled, makeColors } from '../../../../src/cli/view/colors.js';
import { formatBytes, formatCost, formatDuration, formatTokens } from '../../../../src/cli/view/format.js';
import { endEvent, statusEvent, streamLineEvents } from '../../../../src/cli/view/json-events.js';
import { parseStreamLine } from '../../../../src/cli/view/stream-line.js';
import { statusLine } from '../../../../src/cli/view/status-line.js';
import { summaryLines } from '../../../../src/cli/view/summary.js';
import { emptyTally } from '../../../../src/cli/view/tally.js';
import { jobStatus } from '../../tools/fake-supervisor.js';

const plain = makeColors(false);
const T0 = Date.parse('2026-01-01T00:00:01.000Z');

describe('formatting', () => {
  it('durations, sizes, tokens, cost', () => {
    expect([
      formatDuration(4.23),
      formatDuration(65),
      formatDuration(7380),
      formatDuration(2 * 86400 + 3600),
    ]).toEqual(['4.2s', '1m 05s', '2h 03m', '2d 1h']);
    expect([formatBytes(512), formatBytes(12_595), formatBytes(5 * 1024 * 1024)]).toEqual([
      '512 B',
      '12.3 KB',
      '5.0 MB',
    ]);
    expect([formatTokens(950), formatTokens(1234), formatTokens(45_600), formatTokens(4_500_000)]).toEqual([
      '950',
      '1.2k',
      '46k',
      '4.5M',
    ]);
    expect([formatCost(null), formatCost(0.01234), formatCost(3.456)]).toEqual(['–', '$0.0123', '$3.46']);
  });
});

describe('colour choice', () => {
  it('follows NO_COLOR and FORCE_COLOR, else the terminal', () => {
    expect(colorEnabled(true, {})).toBe(true);
    expect(colorEnabled(false, {})).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(true, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(colorEnabled(true, { TERM: 'dumb' })).toBe(false);
    expect(makeColors(true).red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(makeColors(false).red('x')).toBe('x');
  });
});

describe('status line', () => {
  const tally = { ...emptyTally(), turns: 3, tokens: { input: 1000, output: 234 } };

  it('elapsed time, turns, tokens, cost so far, activity', () => {
    const job = jobStatus({ activityState: 'processing' });
    expect(statusLine(job, tally, { now: T0 + 12_300, frame: 0, colors: plain, width: null })).toBe(
      '⠋ running 12.3s · 3 turns · 1.2k tokens · cost – · processing',
    );
  });

  it('a queued job counts from its creation; the line fits the terminal', () => {
    const job = jobStatus({ status: 'pending', startedAt: null });
    const line = statusLine(job, tally, { now: T0 + 4000, frame: 1, colors: plain, width: 30 });
    expect(line).toBe('⠙ queued 5.0s · 3 turns · 1.…');
    expect(Array.from(line).length).toBeLessThan(30);
  });
});

describe('summary', () => {
  const ended = (over: Parameters<typeof jobStatus>[0]) =>
    jobStatus({ endedAt: '2026-01-01T00:00:15.200Z', ...over });

  it('a completed job: duration, turns, tokens, cost, exit code, files changed, how to continue', () => {
    const job = ended({
      status: 'completed',
      exitCode: 0,
      claude: {
        sessionId: 'c',
        model: 'm',
        numTurns: 2,
        costUsd: 0.0367,
        durationMs: 1,
        usage: { input_tokens: 10, cache_read_input_tokens: 9000, output_tokens: 14 },
        result: 'Done.',
      },
    });
    const lines = summaryLines({
      job,
      tally: emptyTally(),
      filesChanged: { workspaceDir: '/w/s', files: ['a.txt', 'src/b.ts'], more: 3 },
      resultShown: true,
      now: 0,
      colors: plain,
    });
    expect(lines).toEqual([
      '✓ completed in 14.2s · 2 turns · 9.0k tokens (9.0k in, 14 out) · cost $0.0367 · exit 0',
      '  files changed: a.txt, src/b.ts and 3 more',
      '  workspace: /w/s',
      '  job job-1 · session sess-1 (continue it: claude-pod run --session sess-1 "…")',
    ]);
  });

  it('a failed job: the error with its code and what to do', () => {
    const job = ended({ status: 'failed', exitCode: 137, error: 'killed \x1b[2J', errorCode: 'OOM_KILLED' });
    const lines = summaryLines({
      job,
      tally: emptyTally(),
      filesChanged: null,
      resultShown: false,
      now: 0,
      colors: plain,
    });
    expect(lines[0]).toBe('✗ failed after 14.2s · 0 turns · 0 tokens (0 in, 0 out) · cost – · exit 137');
    expect(lines[1]).toBe('  error [OOM_KILLED]: killed');
    expect(lines[2]).toMatch(/^ {2}hint: the job ran out of memory: raise `memory`/);
  });

  it("prints Claude's result when the view has not shown it", () => {
    const job = ended({ status: 'completed', claude: { ...jobStatus().claude, result: 'line 1\nline 2' } });
    const lines = summaryLines({
      job,
      tally: emptyTally(),
      filesChanged: null,
      resultShown: false,
      now: 0,
      colors: plain,
    });
    expect(lines.slice(1, 3)).toEqual(['  result: line 1', '          line 2']);
  });
});

describe('--json events', () => {
  it('one event per text block and tool call, a status event, an end event', () => {
    const line = parseStreamLine(
      JSON.stringify({
        type: 'assistant',
        message: {
          id: 'm',
          content: [
            { type: 'text', text: 'hi\x1b[2J' },
            { type: 'tool_use', id: 't', name: 'Write', input: { file_path: '/workspace/a' } },
          ],
        },
      }),
    );
    const events = streamLineEvents(line, 'job-1', T0);
    expect(events).toEqual([
      { event: 'text', jobId: 'job-1', time: '2026-01-01T00:00:01.000Z', text: 'hi\x1b[2J' },
      {
        event: 'tool',
        jobId: 'job-1',
        time: '2026-01-01T00:00:01.000Z',
        name: 'Write',
        detail: 'a',
        toolUseId: 't',
      },
    ]);
    // Every event is one line of JSON, control characters escaped.
    expect(JSON.stringify(events[0])).not.toMatch(/[\x00-\x1f]/);
    expect(statusEvent(jobStatus(), emptyTally(), T0 + 2000)).toMatchObject({
      event: 'status',
      status: 'running',
      elapsedSeconds: 2,
    });
    const end = endEvent(
      jobStatus({ status: 'failed', error: 'x', errorCode: 'IMAGE_NOT_FOUND' }),
      emptyTally(),
      null,
      T0,
      {
        image: 'localhost/claude-pod-agent:latest',
      },
    );
    expect(end).toMatchObject({
      event: 'end',
      status: 'failed',
      errorCode: 'IMAGE_NOT_FOUND',
      hint: expect.stringMatching(/claude-pod setup/),
    });
  });
});
