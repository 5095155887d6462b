import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/workers/clock.js';
import { OutputWatchdog, type TimerKind } from '../../../src/workers/timers.js';

/** A manual clock: time moves only when the test says so. */
class ManualClock implements Clock {
  private t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown) => void this.timers.delete(h as number);
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, x]) => x.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

describe('OutputWatchdog', () => {
  const setup = () => {
    const clock = new ManualClock();
    const fired: TimerKind[] = [];
    const dog = new OutputWatchdog(clock, 30_000, 120_000, (k) => fired.push(k));
    dog.start();
    return { clock, fired, dog };
  };

  it('fires startup when no output arrives in time', () => {
    const { clock, fired } = setup();
    clock.advance(29_999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['startup']);
  });

  it('fires idle only after the idle timeout of silence, counted from the last output', () => {
    const { clock, fired, dog } = setup();
    clock.advance(1_000);
    dog.outputSeen();
    clock.advance(100_000);
    dog.outputSeen();
    clock.advance(119_000);
    expect(fired).toEqual([]);
    clock.advance(1_000);
    expect(fired).toEqual(['idle']);
    clock.advance(1_000_000);
    expect(fired).toEqual(['idle']);
  });

  it('counts the idle timeout from the first output even when it is shorter than the startup timeout', () => {
    const clock = new ManualClock();
    const fired: TimerKind[] = [];
    const dog = new OutputWatchdog(clock, 90_000, 4_000, (k) => fired.push(k));
    dog.start();
    clock.advance(1_000);
    dog.outputSeen();
    clock.advance(3_999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['idle']);
  });

  it('never fires once stopped', () => {
    const { clock, fired, dog } = setup();
    dog.stop();
    clock.advance(1_000_000);
    expect(fired).toEqual([]);
  });
});
