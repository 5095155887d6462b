/**
 * Several engines: placement by the fewest jobs within each engine's slots; an engine that goes
 * away fails only its own jobs, and only after every probe failed for engineUnreachableSeconds
 * (one failed call changes nothing); jobs that never launched move to another engine; an engine
 * that answers again gets its orphaned containers reaped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { openOwner } from '../../../src/supervisor/create.js';
import { EngineHealth } from '../../../src/supervisor/engine-health.js';
import { InlineJobPool } from '../../../src/supervisor/inline-pool.js';
import { placeJob } from '../../../src/supervisor/placement.js';
import type { JobRecord } from '../../../src/supervisor/records.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { fakeRuntimeInfo, inertApiGate } from '../../fixtures/fake-runtime-info.js';
import { defaultScript, MemoryEngine, type Step } from '../../fixtures/memory-engine.js';

const hang = (): Step[] => [defaultScript()[0]!, { hang: true }];
const scriptFor = (prompt: string | undefined): Step[] =>
  prompt?.includes('[hang]') ? hang() : defaultScript();

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('placement', () => {
  const job = (engine: string, phase: JobRecord['phase'] = 'running') =>
    ({ jobId: `${engine}-${Math.random()}`, engine, phase }) as JobRecord;
  const state = (jobs: JobRecord[], down: string[] = []) => ({
    jobs: new Map(jobs.map((j) => [j.jobId, j])),
    downEngines: new Set(down),
  });
  const config = {
    maxConcurrentJobs: 6,
    engines: [
      { name: 'a', maxConcurrentJobs: 2 },
      { name: 'b', maxConcurrentJobs: 4 },
    ],
  };

  it('picks the engine with the fewest unfinished jobs among those with a free slot; ties go to the first', () => {
    expect(placeJob(state([]), config)).toBe('a');
    expect(placeJob(state([job('a')]), config)).toBe('b');
    expect(placeJob(state([job('a'), job('b')]), config)).toBe('a');
    // a is full (2 of 2): b, even with more jobs, has a free slot.
    expect(placeJob(state([job('a'), job('a'), job('b'), job('b'), job('b')]), config)).toBe('b');
    // ended jobs do not count
    expect(placeJob(state([job('a', 'ended'), job('a', 'ended'), job('b')]), config)).toBe('a');
  });

  it('when every engine is full, the shortest queue past its slots; never a down engine; null if none', () => {
    const full = [...Array(2)].map(() => job('a')).concat([...Array(4)].map(() => job('b')));
    expect(placeJob(state(full), config)).toBe('a');
    expect(placeJob(state([...full, job('a', 'queued')]), config)).toBe('b');
    expect(placeJob(state([], ['a']), config)).toBe('b');
    expect(placeJob(state([], ['a', 'b']), config)).toBeNull();
  });
});

describe('engine health', () => {
  it('declares an engine unreachable only after every probe failed for the whole time, and back on an answer', async () => {
    let now = 0;
    const timers: Array<{ at: number; fn: () => void }> = [];
    let answers = true;
    const events: string[] = [];
    const health = new EngineHealth({
      engines: ['x'],
      probe: async () => {
        if (!answers) throw new Error('connection refused');
      },
      unreachableAfterMs: 1_000,
      everyMs: 100,
      watched: () => true,
      later: (fn, ms) => timers.push({ at: now + ms, fn }),
      now: () => now,
      onDown: (name) => events.push(`down ${name}`),
      onUp: (name) => events.push(`up ${name}`),
    });
    const advance = async (ms: number) => {
      const end = now + ms;
      for (;;) {
        timers.sort((p, q) => p.at - q.at);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        now = next.at;
        next.fn();
        await new Promise((r) => setImmediate(r));
      }
      now = end;
    };
    health.start();
    await advance(500);
    answers = false;
    // One failed call, then the engine answers again: nothing happens.
    health.suspect('x');
    await new Promise((r) => setImmediate(r));
    answers = true;
    await advance(2_000);
    expect(events).toEqual([]);
    // Failing for less than the bound: nothing yet.
    answers = false;
    await advance(900);
    expect(events).toEqual([]);
    await advance(300);
    expect(events).toEqual(['down x']);
    answers = true;
    await advance(200);
    expect(events).toEqual(['down x', 'up x']);
    health.stop();
  });
});

describe('two engines, one of which goes away', () => {
  let dir: string;
  let sup: Supervisor | null = null;
  const engines = {
    a: new MemoryEngine({ script: (spec) => scriptFor(spec.stdin), startDelayMs: 2 }),
    b: new MemoryEngine({ script: (spec) => scriptFor(spec.stdin), startDelayMs: 2 }),
  };

  afterEach(async () => {
    await sup?.close({ cancelRunning: true, timeoutMs: 2_000 });
    engines.a.dispose();
    engines.b.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open(unreachableSeconds: number): Promise<Supervisor> {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-engines-'));
    const runtime = fakeRuntimeInfo('/bin/false');
    return openOwner(
      {
        sessionsDir: join(dir, 'sessions'),
        workspacesDir: join(dir, 'workspaces'),
        maxPendingJobs: 10,
        cancelGraceSeconds: 0.1,
        metricsIntervalSeconds: 3600,
        engineUnreachableSeconds: unreachableSeconds,
        engines: [
          { name: 'a', kind: 'podman', maxConcurrentJobs: 2 },
          { name: 'b', kind: 'docker', maxConcurrentJobs: 2 },
        ],
      },
      {
        engines: {
          a: { runtime, engine: engines.a, pool: new InlineJobPool(2, engines.a) },
          b: { runtime, engine: engines.b, pool: new InlineJobPool(2, engines.b) },
        },
        apiGate: inertApiGate(),
        serveControl: false,
        timing: { engineProbeMs: 20, recheckMinMs: 10, recoveryBackoffMs: 10 },
      },
    );
  }

  it('spreads jobs, fails only the jobs of the engine that went away (after the bound), the rest complete', async () => {
    sup = await open(0.5);
    const s = sup;
    const started: Array<{ jobId: string; sessionId: string }> = [];
    for (let i = 0; i < 6; i++) started.push(await s.start({ prompt: `[hang] job ${i}` }));
    const onEngine = (name: string) => started.filter((j) => s.job(j.jobId)?.engine === name);
    // 2 running on each, and the 5th and 6th queued on each (fewest jobs first).
    expect(onEngine('a')).toHaveLength(3);
    expect(onEngine('b')).toHaveLength(3);
    await until(
      () => started.filter((j) => s.status(j.jobId).status === 'running').length === 4,
      '4 running',
    );

    const goneAt = Date.now();
    engines.b.setReachable(false);
    await until(
      () => onEngine('b').every((j) => s.status(j.jobId).status !== 'running'),
      "b's jobs to end",
      10_000,
    );
    const bEnded = onEngine('b').filter((j) => s.status(j.jobId).status === 'failed');
    // The running ones failed, with the stable code, no sooner than the bound.
    expect(bEnded.length).toBeGreaterThanOrEqual(2);
    for (const j of bEnded) {
      expect(s.status(j.jobId)).toMatchObject({ status: 'failed', errorCode: ErrorCodes.ENGINE_UNREACHABLE });
      expect(s.job(j.jobId)!.endedAt! - goneAt).toBeGreaterThanOrEqual(450);
    }
    // The queued one never ran: it moved to a.
    const moved = started.filter(
      (j) => s.status(j.jobId).status !== 'failed' && s.job(j.jobId)?.engine === 'a',
    );
    expect(moved.length).toBe(4);
    for (const j of moved) expect(s.status(j.jobId).errorCode).toBeNull();
    // a's jobs are untouched: cancel them (they hang) and they end cancelled, not failed.
    expect(s.engineDown('b')).toBe(true);
    const bContainers = [...engines.b.containers.keys()];
    expect(bContainers.length).toBeGreaterThan(0);
    // When b answers again, the containers of its failed jobs are reaped.
    engines.b.setReachable(true);
    await until(() => !s.engineDown('b'), 'b to be seen again');
    await until(() => engines.b.containers.size === 0, "b's orphans to be reaped");
    for (const j of moved) await s.cancel(j.jobId, { timeoutMs: 5_000 });
    for (const j of moved) expect(s.status(j.jobId).status).toBe('cancelled');
  });

  it('a listing that fails for less than the bound ends no job', async () => {
    sup = await open(30);
    const s = sup;
    const { jobId } = await s.start({ prompt: '[hang] one' });
    await until(() => s.status(jobId).status === 'running', 'running');
    const engine = engines[s.job(jobId)!.engine as 'a' | 'b'];
    engine.setReachable(false);
    expect(await s.recover()).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    engine.setReachable(true);
    await new Promise((r) => setTimeout(r, 300));
    // Its stream broke while the engine was away; it is followed again, still running.
    await until(() => s.status(jobId).status === 'running' && s.follower(jobId) !== undefined, 're-attached');
    expect(s.engineDown('a') || s.engineDown('b')).toBe(false);
  });
});
