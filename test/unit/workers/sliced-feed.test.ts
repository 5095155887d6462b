import { describe, expect, it } from 'vitest';
import { SlicedFeed } from '../../../src/workers/sliced-feed.js';

/** Turns run only when the test says so: what each turn fed is visible. */
function manualTurns() {
  const queued: Array<() => void> = [];
  return {
    defer: (fn: () => void) => void queued.push(fn),
    /** Runs the turns queued so far; returns how many ran. */
    turn(): number {
      const now = queued.splice(0);
      for (const fn of now) fn();
      return now.length;
    },
  };
}

function source() {
  const calls: string[] = [];
  return { calls, pause: () => calls.push('pause'), resume: () => calls.push('resume') };
}

describe('SlicedFeed: at most sliceBytes of a job per event-loop turn', () => {
  it('feeds a 10 MiB chunk as views of 128 KiB, one per turn, in order, pausing the source meanwhile', async () => {
    const turns = manualTurns();
    const src = source();
    const fed: Buffer[][] = [[]];
    const feed = new SlicedFeed((slice) => fed[fed.length - 1]!.push(slice), {
      sliceBytes: 128 * 1024,
      defer: turns.defer,
    });
    feed.attach(src);
    const chunk = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
    feed.push(chunk);
    let drained = false;
    void feed.drained().then(() => (drained = true));
    expect(src.calls).toEqual(['pause']);
    while (feed.pending > 0) {
      fed.push([]);
      expect(turns.turn()).toBe(1);
    }
    await Promise.resolve();
    expect(drained).toBe(true);
    expect(src.calls).toEqual(['pause', 'resume']);
    // Every turn fed at most one slice of at most 128 KiB; the bytes are the chunk's, in order.
    for (const turn of fed) {
      expect(turn.reduce((n, s) => n + s.length, 0)).toBeLessThanOrEqual(128 * 1024);
    }
    expect(fed.filter((t) => t.length > 0)).toHaveLength(80);
    expect(Buffer.concat(fed.flat()).equals(chunk)).toBe(true);
    // Views, not copies.
    expect(fed[0]![0]!.buffer).toBe(chunk.buffer);
  });

  it('passes small chunks straight through while the turn has room, and queues behind a backlog', () => {
    const turns = manualTurns();
    const fed: string[] = [];
    const feed = new SlicedFeed((slice) => fed.push(slice.toString()), { sliceBytes: 4, defer: turns.defer });
    feed.push(Buffer.from('ab'));
    feed.push(Buffer.from('cd'));
    expect(fed).toEqual(['ab', 'cd']);
    // The turn's budget is spent: more waits, and a later small chunk stays behind it.
    feed.push(Buffer.from('efgh'));
    feed.push(Buffer.from('i'));
    expect(fed).toEqual(['ab', 'cd']);
    turns.turn();
    expect(fed).toEqual(['ab', 'cd', 'efgh']);
    turns.turn();
    expect(fed.join('')).toBe('abcdefghi');
    expect(feed.received).toBe(9);
  });

  it('feeds nothing more once stopped, and drained() resolves', async () => {
    const turns = manualTurns();
    const fed: Buffer[] = [];
    const feed = new SlicedFeed((slice) => fed.push(slice), { sliceBytes: 8, defer: turns.defer });
    feed.push(Buffer.alloc(100));
    const drained = feed.drained();
    feed.stop();
    await drained;
    turns.turn();
    feed.push(Buffer.alloc(4));
    expect(fed.reduce((n, s) => n + s.length, 0)).toBe(8);
  });
});
