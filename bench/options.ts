/** The benchmark's knobs: the full run, `--quick`, and the unit test's tiny preset. */
import { DEFAULT_STREAM, type JobMode } from './fake-stack.js';
import type { ImplKind } from './impl.js';
import { MiB } from './stats.js';

export interface BenchOptions {
  preset: 'full' | 'quick' | 'tiny';
  impl: ImplKind;
  outDir: string;
  stream: string;
  /** Concurrent jobs per load scenario. */
  jobCounts: number[];
  rateBytesPerSec: number;
  steadyMs: number;
  warmupMs: number;
  /** Full-speed scenarios: this many bytes in total, split over the jobs (at least minBytesPerJob each). */
  fullSpeedTotalBytes: number;
  fullSpeedMinBytesPerJob: number;
  /** Memory scenarios: jobs, and the output sizes per job compared. */
  memoryJobs: number;
  memoryBytesPerJob: number[];
  parseBytes: number;
  parseRepeats: number;
  idleMs: number;
  metricsIntervalSeconds: number;
  realRuntime: boolean;
  realRuns: number;
  cpuProfileDir: string | null;
  /** Only load scenarios whose name contains this. */
  only: string | null;
  /** Designs compared in the recording scenarios (worker pool, inline, the seed's design). */
  modes: JobMode[];
  /** Worker-thread counts compared at `threadSweepJobs` jobs (1 MiB/s and full speed); 0 = one per job. */
  threadSweep: number[];
  threadSweepJobs: number;
  /** Full speed with one thread per job at these job counts too: the earlier design, same run. */
  perJobFullSpeed: number[];
  /** The realistic Claude load: synthetic sessions (bench/load-generator/claude-session.mjs). */
  session: {
    jobCounts: number[];
    modes: JobMode[];
    sessionMs: number;
    warmupMs: number;
    steadyMs: number;
    /** Jobs left queued during the largest worker run (status() with a full queue). */
    queued: number;
  };
  /** Process RSS per running job, each run in a fresh process, on Node 20 (this one) and Node 24. */
  rss: { jobCounts: number[]; afterEndMs: number; node24: boolean } | null;
  /**
   * Scenarios (by name, substring) made to throw before they start: how the harness test sees a
   * failing scenario recorded while the run goes on. Empty in every preset.
   */
  failScenarios?: string[];
  /** The plugin in a real OpenClaw gateway (Node 24): its RSS and `claude_code_status` latency. */
  gateway: { jobCounts: number[]; windowMs: number; afterEndMs: number } | null;
}

const RATE = 1 * MiB;

export function presetOptions(preset: BenchOptions['preset']): BenchOptions {
  const common = {
    impl: 'dist' as ImplKind,
    outDir: 'bench/results',
    stream: DEFAULT_STREAM,
    rateBytesPerSec: RATE,
    warmupMs: 1000,
    // The production default: every job samples `stats` every 3 s.
    metricsIntervalSeconds: 3,
    cpuProfileDir: null,
    only: null,
    modes: ['worker', 'inline', 'seed'] as JobMode[],
  };
  switch (preset) {
    case 'full':
      return {
        ...common,
        preset,
        jobCounts: [1, 8, 32, 64],
        steadyMs: 10_000,
        fullSpeedTotalBytes: 256 * MiB,
        fullSpeedMinBytesPerJob: 4 * MiB,
        memoryJobs: 8,
        memoryBytesPerJob: [5 * MiB, 50 * MiB],
        parseBytes: 128 * MiB,
        parseRepeats: 3,
        idleMs: 5000,
        realRuntime: true,
        realRuns: 10,
        threadSweep: [1, 2, 4, 0],
        threadSweepJobs: 64,
        perJobFullSpeed: [8, 32],
        session: {
          jobCounts: [64, 128, 256],
          modes: ['worker', 'inline', 'seed'],
          sessionMs: 30_000,
          warmupMs: 3000,
          steadyMs: 15_000,
          queued: 1000,
        },
        rss: { jobCounts: [64, 256], afterEndMs: 65_000, node24: true },
        gateway: { jobCounts: [4, 32], windowMs: 20_000, afterEndMs: 65_000 },
      };
    case 'quick':
      return {
        ...common,
        preset,
        jobCounts: [1, 8],
        steadyMs: 3000,
        fullSpeedTotalBytes: 32 * MiB,
        fullSpeedMinBytesPerJob: 2 * MiB,
        memoryJobs: 2,
        memoryBytesPerJob: [2 * MiB, 10 * MiB],
        parseBytes: 16 * MiB,
        parseRepeats: 1,
        idleMs: 1000,
        realRuntime: true,
        realRuns: 3,
        threadSweep: [],
        threadSweepJobs: 8,
        perJobFullSpeed: [],
        session: {
          jobCounts: [32],
          modes: ['worker', 'inline', 'seed'],
          sessionMs: 15_000,
          warmupMs: 2000,
          steadyMs: 6000,
          queued: 100,
        },
        rss: null,
        gateway: null,
      };
    case 'tiny':
      return {
        ...common,
        preset,
        impl: 'src',
        jobCounts: [2],
        steadyMs: 500,
        warmupMs: 200,
        fullSpeedTotalBytes: 2 * MiB,
        fullSpeedMinBytesPerJob: 1 * MiB,
        memoryJobs: 1,
        memoryBytesPerJob: [1 * MiB],
        parseBytes: 2 * MiB,
        parseRepeats: 1,
        idleMs: 300,
        realRuntime: false,
        realRuns: 0,
        threadSweep: [1],
        threadSweepJobs: 2,
        perJobFullSpeed: [],
        session: {
          jobCounts: [2],
          modes: ['worker', 'seed'],
          sessionMs: 5000,
          warmupMs: 500,
          steadyMs: 1000,
          queued: 3,
        },
        rss: null,
        gateway: null,
      };
  }
}

/** Bytes per job for a rate-limited scenario: enough to stream through warm-up, window and a margin. */
export function rateBytesPerJob(o: BenchOptions): number {
  return Math.ceil((o.rateBytesPerSec * (o.warmupMs + o.steadyMs + 3000)) / 1000);
}

export function fullSpeedBytesPerJob(o: BenchOptions, jobs: number): number {
  return Math.max(o.fullSpeedMinBytesPerJob, Math.ceil(o.fullSpeedTotalBytes / jobs));
}

export function parseArgs(argv: string[]): BenchOptions {
  const flag = (name: string) => argv.includes(name);
  const value = (name: string): string | null => {
    const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (i === -1) return null;
    const arg = argv[i]!;
    return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[i + 1] ?? null);
  };
  const known = [
    '--quick',
    '--no-real-runtime',
    '--no-gateway',
    '--no-rss',
    '--src',
    '--out',
    '--cpu-prof-dir',
    '--only',
    '--help',
  ];
  for (const arg of argv) {
    if (arg.startsWith('--') && !known.includes(arg.split('=')[0]!)) throw new Error(`unknown flag ${arg}`);
  }
  const o = presetOptions(flag('--quick') ? 'quick' : 'full');
  if (flag('--no-real-runtime')) o.realRuntime = false;
  if (flag('--no-gateway')) o.gateway = null;
  if (flag('--no-rss')) o.rss = null;
  if (flag('--src')) o.impl = 'src';
  o.outDir = value('--out') ?? o.outDir;
  o.cpuProfileDir = value('--cpu-prof-dir');
  o.only = value('--only');
  return o;
}

export const USAGE = `npm run bench -- [--quick] [--no-real-runtime] [--no-gateway] [--no-rss] [--src] [--out DIR] [--only NAME] [--cpu-prof-dir DIR]
  --quick            1 and 8 jobs, 3 s windows, 32 realistic jobs, 3 real-runtime runs (a few minutes)
  --no-real-runtime  skip the podman start-overhead comparison
  --no-gateway       skip the runs inside a real OpenClaw gateway (Node 24, openclaw from the cache;
                     CLAUDE_POD_CACHE_DIR=<dir> uses <dir>/openclaw-env)
  --no-rss           skip the RSS-per-job runs (fresh processes on Node 20 and Node 24)
  --src              drive src/ through tsx instead of the built dist/ (slower worker start-up)
  --out DIR          where latest.json and latest.md go (default bench/results)
  --only NAME        only load scenarios whose name contains NAME (e.g. worker-32x, claude, t2-)
  --cpu-prof-dir DIR write a main-thread CPU profile of each load scenario's window`;
