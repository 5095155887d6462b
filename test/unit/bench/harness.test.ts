import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench, type BenchResults } from '../../../bench/bench.js';
import { parseArgs, presetOptions } from '../../../bench/options.js';
import { percentile, summarize } from '../../../bench/stats.js';

describe('bench harness at tiny scale', () => {
  let dir: string;
  let results: BenchResults;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-bench-test-'));
    // One scenario fails (injected): the run records it and goes on with the others.
    results = await runBench({ ...presetOptions('tiny'), outDir: dir, failScenarios: ['seed-2x-full'] });
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the three designs through the supervisor and every output file is byte-identical', () => {
    expect(results.meta.generatorMatchesFixture).toBe(true);
    const names = results.load.map(
      (r) => `${r.mode}-${r.jobs}-${r.rateBytesPerSec === null ? 'full' : 'rate'}`,
    );
    expect(names.sort()).toEqual([
      'inline-2-full',
      'inline-2-rate',
      'seed-2-rate',
      'worker-2-full',
      'worker-2-rate',
    ]);
    expect(results.sweep.map((r) => r.name).sort()).toEqual(['worker-t1-2x-1MiBps', 'worker-t1-2x-full']);
    // The realistic load: synthetic sessions, one run with jobs left queued.
    expect(results.sessions.map((r) => r.name)).toEqual(['worker-2x-claude-q3', 'seed-2x-claude']);
    expect(results.sessions[0]!.queued).toBe(3);
    for (const r of [...results.load, ...results.sweep, ...results.sessions, ...results.memory]) {
      expect(r.accuracy.problems).toEqual([]);
      expect(r.accuracy.identical).toBe(r.jobs);
      expect(r.probe.statusMs.count).toBeGreaterThan(0);
      expect(r.probe.eventLoopDelayMs.p99).toBeGreaterThanOrEqual(0);
    }
    expect(results.memory.map((m) => m.memory.liveHeapDeltaMiB).every((v) => typeof v === 'number')).toBe(
      true,
    );
  });

  it('measures parse throughput and judges every target', () => {
    expect(results.parse?.workerPipelineMiBps).toBeGreaterThan(0);
    expect(results.parse?.bareJsonParseMiBps).toBeGreaterThan(0);
    expect(results.startOverhead.available).toBe(false);
    expect(results.targets).toHaveLength(13);
    expect(results.targets.find((t) => t.target === 'bytes identical in every run')?.met).toBe(true);
  });

  it('writes latest.json and latest.md', async () => {
    const json = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as BenchResults;
    expect(json.load).toHaveLength(5);
    expect(json.meta.partial).toBeUndefined();
    expect(json.loadAverage).toHaveLength(3);
    expect(json.load.every((l) => l.loadAverage?.length === 3)).toBe(true);
    expect(json.failed).toEqual([
      expect.objectContaining({
        section: 'load',
        name: 'seed-2x-full',
        error: 'failure injected (failScenarios)',
      }),
    ]);
    const md = await readFile(join(dir, 'latest.md'), 'utf8');
    expect(md).toContain('### Targets');
    expect(md).toContain('| worker, 2 threads | 2 |');
    expect(md).toContain('| inline | 2 |');
    expect(md).toContain("| seed's design | 2 |");
    expect(md).toContain('### Realistic Claude load');
    expect(md).toContain('### Scenarios that failed');
    expect(md).toMatch(/\| load \| seed-2x-full \| .* \| failure injected \(failScenarios\) \|/);
  });
});

describe('bench options and stats', () => {
  it('parses the flags', () => {
    const o = parseArgs(['--quick', '--no-real-runtime', '--src', '--out=/tmp/x']);
    expect(o).toMatchObject({ preset: 'quick', realRuntime: false, impl: 'src', outDir: '/tmp/x' });
    expect(() => parseArgs(['--fast'])).toThrow(/unknown flag/);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(summarize([5, 1, 3])).toMatchObject({ count: 3, p50: 3, p99: 5, max: 5 });
  });
});
