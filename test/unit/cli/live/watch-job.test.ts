/* eslint-disable no-control-regex -- these tests look for terminal control characters */
import { describe, expect, it } from 'vitest';
import { HumanView } from '../../../../src/cli/live/human-view.js';
import type { JobEnd, JobView } from '../../../../src/cli/live/job-view.js';
import { JsonView } from '../../../../src/cli/live/json-view.js';
import { LineSplitter } from '../../../../src/cli/live/output-follower.js';
import { RawView } from '../../../../src/cli/live/raw-view.js';
import { PlainScreen, TerminalScreen } from '../../../../src/cli/live/screen.js';
import { watchJob } from '../../../../src/cli/live/watch-job.js';
import { makeColors } from '../../../../src/cli/view/colors.js';
import type { JobStatus } from '../../../../src/supervisor/api.js';
import { streamFixture } from '../../../fixtures/streams.js';
import { FakeWatchApi } from './fake-api.js';

const plain = makeColors(false);
const tick = () => new Promise((r) => setTimeout(r, 5));

class Recorder implements JobView {
  chunks: string[] = [];
  statuses: string[] = [];
  ended: Array<{ status: JobStatus; end: JobEnd }> = [];
  messages: string[] = [];
  message(text: string) {
    this.messages.push(text);
  }
  chunk(text: string) {
    this.chunks.push(text);
  }
  progress(s: JobStatus) {
    this.statuses.push(s.status);
  }
  end(status: JobStatus, end: JobEnd) {
    this.ended.push({ status, end });
  }
  pause() {}
  resume() {}
  close() {}
}

function sink() {
  let text = '';
  return { write: (s: string) => (text += s), text: () => text };
}

describe('watchJob', () => {
  it('reads the output by byte offset, page after page, following events to the end', async () => {
    const api = new FakeWatchApi(10);
    const view = new Recorder();
    api.append('{"type":"a"}\n');
    const watching = watchJob(api, 'job-1', view, { pollMs: 10_000 });
    await tick();
    api.append('Grüße «日本» ✓\n');
    api.progress();
    await tick();
    api.append('last line, no newline');
    api.end({ status: 'completed', exitCode: 0 });
    const final = await watching;
    expect(final?.status).toBe('completed');
    expect(view.chunks.join('')).toBe(api.bytes.toString('utf8'));
    // Each read starts where the previous one ended: nothing read twice, nothing skipped.
    const offsets = api.reads.map((r) => r.offset);
    expect(offsets[0]).toBe(0);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBeGreaterThanOrEqual(offsets[i - 1]!);
    expect(view.ended).toHaveLength(1);
    expect(view.ended[0]!.end.filesChanged).toBeNull();
  });

  it('notices an end it missed (a client reconnecting) by polling status', async () => {
    const api = new FakeWatchApi();
    const view = new Recorder();
    const watching = watchJob(api, 'job-1', view, { pollMs: 20 });
    await tick();
    api.end({ status: 'failed', error: 'x', errorCode: 'NO_RESULT' }, false);
    expect((await watching)?.status).toBe('failed');
  });

  it('detaching stops watching without an end; the job is not touched', async () => {
    const api = new FakeWatchApi();
    const view = new Recorder();
    const detach = new AbortController();
    const watching = watchJob(api, 'job-1', view, { signal: detach.signal });
    await tick();
    detach.abort();
    expect(await watching).toBeNull();
    expect(view.ended).toEqual([]);
    expect(api.listenerCount('job:progress') + api.listenerCount('job:end')).toBe(0);
  });

  it('once: shows what a running job has written so far and returns', async () => {
    const api = new FakeWatchApi();
    api.append('{"x":1}\n');
    const view = new Recorder();
    expect(await watchJob(api, 'job-1', view, { once: true })).toBeNull();
    expect(view.chunks.join('')).toBe('{"x":1}\n');
  });

  it('an ended job: reads everything and ends at once', async () => {
    const api = new FakeWatchApi(1000, { status: 'cancelled', endedAt: '2026-01-01T00:00:02.000Z' });
    api.append(streamFixture('simple.jsonl').toString('utf8'));
    const view = new Recorder();
    // No poll within the test's time: the end must come from the first status.
    expect((await watchJob(api, 'job-1', view, { pollMs: 60_000 }))?.status).toBe('cancelled');
    expect(view.chunks.join('')).toBe(streamFixture('simple.jsonl').toString('utf8'));
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks, strips CR, flushes the last one', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    for (const c of ['ab', 'c\r\nd', 'e\n', 'tail']) s.push(c);
    expect(got).toEqual(['abc', 'de']);
    s.flush();
    expect(got).toEqual(['abc', 'de', 'tail']);
  });
});

describe('views', () => {
  const stream = streamFixture('tool-use.jsonl').toString('utf8');
  const done = (api: FakeWatchApi) =>
    api.end({
      status: 'completed',
      exitCode: 0,
      claude: {
        ...api.job.claude,
        numTurns: 4,
        costUsd: 0.0829,
        result:
          'Done: `src/parse.ts` rewritten, all 42 tests pass ✅. Résumé: renamed every `step*` helper to `stage*`.',
      },
    });

  it('piped: plain lines only — tool calls, text, summary — and no escape sequence', async () => {
    const api = new FakeWatchApi(300);
    const out = sink();
    const view = new HumanView(new PlainScreen(out), plain);
    const watching = watchJob(api, 'job-1', view);
    api.append(stream);
    api.progress();
    await tick();
    done(api);
    await watching;
    const text = out.text();
    expect(text).not.toMatch(/\x1b|\r/);
    const lines = text.split('\n');
    expect(lines).toContain('→ Read src/parse.ts');
    expect(lines).toContain('→ Bash npm test 2>&1 | tail -n 20');
    expect(lines.find((l) => l.startsWith('✓ completed'))).toMatch(/4 turns .* cost \$0\.0829 · exit 0$/);
    // The final text was shown as it arrived, so the summary does not repeat it.
    expect(lines.filter((l) => l.includes('all 42 tests pass'))).toHaveLength(1);
  });

  it('terminal: a status line rewritten in place with CR + erase-line, and no other cursor movement', async () => {
    const api = new FakeWatchApi(300);
    const out = sink();
    const clock = () => Date.parse('2026-01-01T00:00:04.200Z');
    const view = new HumanView(new TerminalScreen({ ...out, isTTY: true, columns: 70 }), plain, clock);
    const watching = watchJob(api, 'job-1', view);
    api.append(stream);
    api.progress({ activityState: 'processing' });
    await tick();
    done(api);
    await watching;
    const text = out.text();
    const sequences = new Set(text.match(/\x1b\[[0-9;?]*[A-Za-z]/g));
    expect([...sequences]).toEqual(['\x1b[2K']);
    expect(text).toContain('\r\x1b[2K⠹ running 3.2s · 3 turns · 49k tokens · cost – · processing');
    expect(text).toContain('\r\x1b[2K→ Write src/parse.ts\n');
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/continue it/);
  });

  it('--json: one JSON event per line, ending with the end event', async () => {
    const api = new FakeWatchApi(300);
    const out = sink();
    const err = sink();
    const watching = watchJob(api, 'job-1', new JsonView(out, err));
    api.append(stream);
    api.progress();
    await tick();
    done(api);
    await watching;
    const events = out
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; name?: string });
    expect(events[0]?.event).toBe('status');
    expect(events.filter((e) => e.event === 'tool').map((e) => e.name)).toEqual(['Read', 'Write', 'Bash']);
    expect(events.at(-1)).toMatchObject({ event: 'end', status: 'completed', turns: 4, costUsd: 0.0829 });
  });

  it('--raw: the bytes as stored on stdout, the summary on stderr', async () => {
    const api = new FakeWatchApi(100);
    const out = sink();
    const err = sink();
    const watching = watchJob(api, 'job-1', new RawView(out, err, plain));
    api.append(`${stream}\x1b]0;kept as is\x07\n`);
    api.progress();
    await tick();
    done(api);
    await watching;
    expect(out.text()).toBe(api.bytes.toString('utf8'));
    expect(err.text()).toMatch(/^✓ completed/);
  });
});
