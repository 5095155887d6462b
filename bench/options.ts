/** The benchmark's knobs: the full run, `--quick`, and the unit test's tiny preset. */
import { DEFAULT_STREAM } from './fake-stack.js';
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
  const known = ['--quick', '--no-real-runtime', '--src', '--out', '--cpu-prof-dir', '--only', '--help'];
  for (const arg of argv) {
    if (arg.startsWith('--') && !known.includes(arg.split('=')[0]!)) throw new Error(`unknown flag ${arg}`);
  }
  const o = presetOptions(flag('--quick') ? 'quick' : 'full');
  if (flag('--no-real-runtime')) o.realRuntime = false;
  if (flag('--src')) o.impl = 'src';
  o.outDir = value('--out') ?? o.outDir;
  o.cpuProfileDir = value('--cpu-prof-dir');
  o.only = value('--only');
  return o;
}

export const USAGE = `npm run bench -- [--quick] [--no-real-runtime] [--src] [--out DIR] [--only NAME] [--cpu-prof-dir DIR]
  --quick            1 and 8 jobs, 3 s windows, 3 real-runtime runs (about 1 minute)
  --no-real-runtime  skip the podman start-overhead comparison
  --src              drive src/ through tsx instead of the built dist/ (slower worker start-up)
  --out DIR          where latest.json and latest.md go (default bench/results)
  --only NAME        only load scenarios whose name contains NAME (e.g. worker-32x)
  --cpu-prof-dir DIR write a main-thread CPU profile of each load scenario's window`;
