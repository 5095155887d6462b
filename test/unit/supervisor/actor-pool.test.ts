/**
 * The pool's own rules, against stand-in hosts: exactly maxJobs running, placement by output
 * rate, aborts that never touch a thread, a dead host failing only its jobs, progress batches
 * handed to each job.
 */
import { describe, expect, it } from 'vitest';
import {
  type HostReport,
  type JobOutcome,
  type JobSpec,
  type SupervisorMessage,
} from '../../../src/shared/protocol.js';
import { ActorPool, type StartHost } from '../../../src/supervisor/actor-pool.js';
import { emptyProgress } from '../../../src/supervisor/job-machine.js';

interface FakeHost {
  id: number;
  placed: Array<{ key: number; jobId: string; onMessage: (m: unknown) => void; sent: SupervisorMessage[] }>;
  report: (r: HostReport) => void;
  retired: boolean;
  die: (error: Error) => void;
}

function fakeHosts() {
  const hosts: FakeHost[] = [];
  const start: StartHost = (id, report) => {
    let die!: (error: Error) => void;
    let retire!: () => void;
    const ended = new Promise<void>((resolve, reject) => {
      die = reject;
      retire = resolve;
    });
    const host: FakeHost = { id, placed: [], report, retired: false, die };
    hosts.push(host);
    return {
      ended,
      link: {
        place(key, spec, onMessage) {
          const sent: SupervisorMessage[] = [];
          host.placed.push({ key, jobId: spec.jobId, onMessage, sent });
          return { send: (m) => sent.push(m), close: () => undefined };
        },
        retire() {
          host.retired = true;
          retire();
        },
      },
    };
  };
  return { hosts, start };
}

const spec = (jobId: string) => ({ jobId }) as JobSpec;
const outcome: JobOutcome = {
  status: 'completed',
  exitCode: 0,
  error: null,
  progress: emptyProgress(),
  endedAt: 1,
};
const progress = (jobId: string) => ({ type: 'progress', jobId, progress: {} });

function settled(host: FakeHost, jobId: string): void {
  const key = host.placed.find((p) => p.jobId === jobId)!.key;
  host.report({ type: 'settled', key, outcome });
}

describe('ActorPool', () => {
  it('runs exactly maxJobs at once and places the next queued job when one ends', async () => {
    const { hosts, start } = fakeHosts();
    const pool = new ActorPool(start, { maxJobs: 3, threads: 2 });
    const jobs = ['a', 'b', 'c', 'd', 'e'].map((id) =>
      pool.submit(spec(id), () => undefined, new AbortController().signal),
    );
    expect(hosts.flatMap((h) => h.placed.map((p) => p.jobId))).toEqual(['a', 'c', 'b']);
    expect(pool.queueSize).toBe(2);
    settled(hosts[0]!, 'a');
    await expect(jobs[0]!.done).resolves.toEqual(outcome);
    expect(pool.queueSize).toBe(1);
    expect(
      pool
        .placement()
        .flatMap((p) => p.jobs)
        .sort(),
    ).toEqual(['b', 'c', 'd']);
  });

  it('starts a thread per job up to `threads`, then places on the thread with the least output per second', () => {
    let now = 0;
    const { hosts, start } = fakeHosts();
    const pool = new ActorPool(start, { maxJobs: 10, threads: 2, now: () => now });
    const signal = new AbortController().signal;
    pool.submit(spec('busy'), () => undefined, signal);
    pool.submit(spec('quiet'), () => undefined, signal);
    expect(hosts.map((h) => h.placed.map((p) => p.jobId))).toEqual([['busy'], ['quiet']]);
    // busy streams 1 MB/s, quiet 10 kB/s.
    for (let t = 1; t <= 5; t++) {
      now = t * 250;
      hosts[0]!.report({
        type: 'progressBatch',
        entries: [{ key: hosts[0]!.placed[0]!.key, bytesIn: t * 250_000, message: progress('busy') }],
      });
      hosts[1]!.report({
        type: 'progressBatch',
        entries: [{ key: hosts[1]!.placed[0]!.key, bytesIn: t * 2_500, message: progress('quiet') }],
      });
    }
    pool.submit(spec('n1'), () => undefined, signal);
    pool.submit(spec('n2'), () => undefined, signal);
    pool.submit(spec('n3'), () => undefined, signal);
    // By bytes per second, not round-robin and not by count: all three go to the quiet thread.
    expect(hosts).toHaveLength(2);
    expect(hosts[1]!.placed.map((p) => p.jobId)).toEqual(['quiet', 'n1', 'n2', 'n3']);
    // Once busy has been silent a while its rate decays, and the counts decide again.
    now += 60_000;
    pool.submit(spec('n4'), () => undefined, signal);
    expect(hosts[0]!.placed.map((p) => p.jobId)).toEqual(['busy', 'n4']);
  });

  it('hands each entry of a progress batch to its own job, and none to a job already settled', () => {
    const { hosts, start } = fakeHosts();
    const pool = new ActorPool(start, { maxJobs: 2, threads: 1 });
    const got: Record<string, unknown[]> = { a: [], b: [] };
    const signal = new AbortController().signal;
    pool.submit(spec('a'), (m) => got.a!.push(m), signal);
    pool.submit(spec('b'), (m) => got.b!.push(m), signal);
    const [a, b] = hosts[0]!.placed;
    hosts[0]!.report({
      type: 'progressBatch',
      entries: [
        { key: a!.key, bytesIn: 1, message: progress('a') },
        { key: b!.key, bytesIn: 2, message: progress('b') },
      ],
    });
    expect(got).toEqual({ a: [progress('a')], b: [progress('b')] });
    settled(hosts[0]!, 'a');
    hosts[0]!.report({
      type: 'progressBatch',
      entries: [{ key: a!.key, bytesIn: 3, message: progress('a') }],
    });
    expect(got).toEqual({ a: [progress('a')], b: [progress('b')] });
  });

  it('aborts a queued job off the queue, and a placed one by telling its actor to detach — never by ending its thread', async () => {
    const { hosts, start } = fakeHosts();
    const pool = new ActorPool(start, { maxJobs: 2, threads: 1 });
    const aborts = ['a', 'b', 'c'].map(() => new AbortController());
    const [a, b, c] = ['a', 'b', 'c'].map((id, i) =>
      pool.submit(spec(id), () => undefined, aborts[i]!.signal),
    );
    aborts[2]!.abort();
    await expect(c!.done).rejects.toThrow('aborted');
    expect(pool.queueSize).toBe(0);
    aborts[0]!.abort();
    await expect(a!.done).rejects.toThrow('aborted');
    expect(hosts[0]!.placed[0]!.sent).toEqual([{ type: 'detach', jobId: 'a' }]);
    // Its thread-mate runs on; the aborted actor holds its slot until it has ended.
    const d = pool.submit(spec('d'), () => undefined, new AbortController().signal);
    expect(pool.queueSize).toBe(1);
    settled(hosts[0]!, 'a');
    expect(pool.queueSize).toBe(0);
    settled(hosts[0]!, 'b');
    settled(hosts[0]!, 'd');
    await expect(b!.done).resolves.toEqual(outcome);
    await expect(d.done).resolves.toEqual(outcome);
    expect(hosts).toHaveLength(1);
  });

  it('fails only the jobs of a host that dies, and starts a new host for the next job', async () => {
    const { hosts, start } = fakeHosts();
    const pool = new ActorPool(start, { maxJobs: 4, threads: 2 });
    const signal = new AbortController().signal;
    const jobs = ['a', 'b', 'c', 'd'].map((id) => pool.submit(spec(id), () => undefined, signal));
    const onFirst = hosts[0]!.placed.map((p) => p.jobId);
    expect(onFirst).toEqual(['a', 'c']);
    hosts[0]!.die(new Error('worker exited with code: 3'));
    await expect(jobs[0]!.done).rejects.toThrow('worker exited with code: 3');
    await expect(jobs[2]!.done).rejects.toThrow('worker exited with code: 3');
    // The other host's jobs go on; the next job gets a new thread in place of the dead one.
    const e = pool.submit(spec('e'), () => undefined, signal);
    expect(hosts).toHaveLength(3);
    expect(hosts[2]!.placed.map((p) => p.jobId)).toEqual(['e']);
    for (const id of ['b', 'd']) settled(hosts[1]!, id);
    settled(hosts[2]!, 'e');
    await expect(jobs[1]!.done).resolves.toEqual(outcome);
    await expect(jobs[3]!.done).resolves.toEqual(outcome);
    await expect(e.done).resolves.toEqual(outcome);
  });

  it('retires a host left without jobs, not while the queue still has jobs for it', async () => {
    const { hosts, start } = fakeHosts();
    const pool = new ActorPool(start, { maxJobs: 1, threads: 1 });
    const signal = new AbortController().signal;
    const a = pool.submit(spec('a'), () => undefined, signal);
    const b = pool.submit(spec('b'), () => undefined, signal);
    settled(hosts[0]!, 'a');
    await a.done;
    // The queued job took the same host at once.
    expect(hosts).toHaveLength(1);
    expect(hosts[0]!.placed.map((p) => p.jobId)).toEqual(['a', 'b']);
    await new Promise((r) => setTimeout(r, 5));
    expect(hosts[0]!.retired).toBe(false);
    settled(hosts[0]!, 'b');
    await b.done;
    await new Promise((r) => setTimeout(r, 5));
    expect(hosts[0]!.retired).toBe(true);
    expect(pool.threads).toBe(0);
    // A later job gets a new host (on a warm thread, for the worker pool).
    pool.submit(spec('c'), () => undefined, signal);
    expect(hosts).toHaveLength(2);
  });
});
