/**
 * One load scenario: N jobs through a real supervisor (worker pool or the inline baseline), each
 * streaming the recorded stream-json from the fake runtime, with the gateway probe on the main
 * thread. Afterwards every job's output file is checked byte for byte against the reference.
 */
import { performance } from 'node:perf_hooks';
import type { JobStatus } from '../../src/supervisor/job-view.js';
import { expectedOutput, hashFile } from '../expected-output.js';
import { fakeStack, type JobMode, type LoadGenerator } from '../fake-stack.js';
import type { Impl } from '../impl.js';
import { startGatewayProbe, type GatewayProbeResult } from '../gateway-probe.js';
import { forceGc, startMemorySampler } from '../memory.js';
import { MiB, round } from '../stats.js';
import { startWindowProfiler, type ProfileSummary, type WindowProfiler } from '../window-profiler.js';

export interface LoadScenario {
  mode: JobMode;
  generator: LoadGenerator;
  jobs: number;
  /** Per job; null = full speed. */
  rateBytesPerSec: number | null;
  bytesPerJob: number;
  stream: string;
  /**
   * Rate-limited runs measure a steady-state window of this length, starting once every job has
   * produced output (ended early if a job finishes). Full-speed runs measure from the last
   * `start()` to the last job's end.
   */
  steadyMs: number;
  metricsIntervalSeconds: number;
  /** Force a GC this often during the run and record the live heap (memory scenarios only). */
  liveHeapEveryMs?: number;
  /** Write a main-thread CPU profile of the measurement window here. */
  cpuProfileDir?: string;
}

export interface LoadResult {
  mode: JobMode;
  jobs: number;
  rateBytesPerSec: number | null;
  bytesPerJob: number;
  /** From the first start() until every job had produced output. */
  rampMs: number;
  window: 'steady' | 'start-to-end';
  probe: GatewayProbeResult;
  /** Output bytes written by all jobs during the window, per second (MiB/s). */
  aggregateMiBps: number;
  memory: {
    heapBaselineMiB: number;
    /** Peak main-thread heapUsed over the baseline (garbage included). */
    heapPeakDeltaMiB: number;
    /** Live heap (after a forced GC) at its highest during the run, over the baseline. */
    liveHeapDeltaMiB: number | null;
    /** Main-thread heap still held after every job ended (forced GC), over the baseline. */
    heapRetainedDeltaMiB: number;
    rssBaselineMiB: number;
    rssPeakDeltaMiB: number;
  };
  accuracy: { jobs: number; identical: number; completed: number; problems: string[] };
  profile?: ProfileSummary;
}

const RAMP_TIMEOUT_MS = 120_000;

export async function runLoadScenario(impl: Impl, s: LoadScenario): Promise<LoadResult> {
  const expected = await expectedOutput(s.generator, s.stream, s.bytesPerJob);
  const stack = await fakeStack({
    impl,
    generator: s.generator,
    mode: s.mode,
    jobs: s.jobs,
    load: { stream: s.stream, totalBytes: s.bytesPerJob, rateBytesPerSec: s.rateBytesPerSec },
    metricsIntervalSeconds: s.metricsIntervalSeconds,
  });
  try {
    const { sup } = stack;
    forceGc();
    const base = process.memoryUsage();
    const sampler = startMemorySampler();
    let liveHeapPeak = 0;
    const liveTimer = s.liveHeapEveryMs
      ? setInterval(() => {
          forceGc();
          liveHeapPeak = Math.max(liveHeapPeak, process.memoryUsage().heapUsed);
        }, s.liveHeapEveryMs)
      : null;

    const jobIds: string[] = [];
    const withOutput = new Set<string>();
    let firstEnd: (() => void) | null = null;
    const firstEnded = new Promise<void>((resolve) => (firstEnd = resolve));
    let allOutput: (() => void) | null = null;
    const allHaveOutput = new Promise<void>((resolve) => (allOutput = resolve));
    const onProgress = (st: JobStatus) => {
      if (st.outputSize > 0 && !withOutput.has(st.jobId)) {
        withOutput.add(st.jobId);
        if (withOutput.size === s.jobs) allOutput?.();
      }
    };
    const onEnd = (st: JobStatus) => {
      onProgress(st);
      firstEnd?.();
    };
    sup.on('job:progress', onProgress);
    sup.on('job:end', onEnd);

    const t0 = performance.now();
    const started = await Promise.all(
      Array.from({ length: s.jobs }, (_, i) => sup.start({ prompt: `bench job ${i}` })),
    );
    for (const { jobId } of started) jobIds.push(jobId);
    const ends = jobIds.map((id) => stack.waitForEnd(id));
    const status = () => sup.status(jobIds[Math.floor(Math.random() * jobIds.length)]!);

    let profiler: WindowProfiler | null = null;
    const profile = async () => {
      if (s.cpuProfileDir) profiler = await startWindowProfiler(s.cpuProfileDir, scenarioName(s));
    };
    let probe: GatewayProbeResult;
    let rampMs: number;
    let windowBytes: number;
    const outputTotal = () => jobIds.reduce((acc, id) => acc + sup.status(id).outputSize, 0);
    if (s.rateBytesPerSec !== null) {
      await withTimeout(allHaveOutput, RAMP_TIMEOUT_MS, `jobs to produce output (${withOutput.size}/${s.jobs})`);
      rampMs = performance.now() - t0;
      const bytes0 = outputTotal();
      await profile();
      const gateway = startGatewayProbe({ status });
      await Promise.race([sleep(s.steadyMs), firstEnded]);
      probe = gateway.stop();
      windowBytes = outputTotal() - bytes0;
    } else {
      await profile();
      const gateway = startGatewayProbe({ status });
      const bytes0 = outputTotal();
      void allHaveOutput.then(() => (rampMsFull = performance.now() - t0));
      let rampMsFull = Number.NaN;
      await Promise.all(ends);
      probe = gateway.stop();
      rampMs = rampMsFull;
      windowBytes = outputTotal() - bytes0;
    }
    const profileSummary = profiler ? await (profiler as WindowProfiler).stop() : undefined;
    const finals = await Promise.all(ends);
    sup.off('job:progress', onProgress);
    sup.off('job:end', onEnd);
    if (liveTimer) clearInterval(liveTimer);
    const peak = sampler.stop();
    forceGc();
    const retained = process.memoryUsage().heapUsed;

    const problems: string[] = [];
    let identical = 0;
    for (const final of finals) {
      if (final.status !== 'completed') problems.push(`${final.jobId}: ${final.status} ${final.error ?? ''}`.trim());
      const got = await hashFile(stack.outputPath(final.jobId));
      if (got.bytes === expected.bytes && got.sha256 === expected.sha256) identical++;
      else problems.push(`${final.jobId}: output ${got.bytes} B (${got.sha256.slice(0, 12)}), expected ${expected.bytes} B`);
    }
    const mib = (n: number) => round(n / MiB, 2);
    return {
      mode: s.mode,
      jobs: s.jobs,
      rateBytesPerSec: s.rateBytesPerSec,
      bytesPerJob: s.bytesPerJob,
      rampMs: round(rampMs, 0),
      window: s.rateBytesPerSec !== null ? 'steady' : 'start-to-end',
      probe,
      aggregateMiBps: round(windowBytes / MiB / (probe.durationMs / 1000), 1),
      memory: {
        heapBaselineMiB: mib(base.heapUsed),
        heapPeakDeltaMiB: mib(peak.heapUsed - base.heapUsed),
        liveHeapDeltaMiB: s.liveHeapEveryMs ? mib(liveHeapPeak - base.heapUsed) : null,
        heapRetainedDeltaMiB: mib(retained - base.heapUsed),
        rssBaselineMiB: mib(base.rss),
        rssPeakDeltaMiB: mib(peak.rss - base.rss),
      },
      accuracy: {
        jobs: finals.length,
        identical,
        completed: finals.filter((f) => f.status === 'completed').length,
        problems: problems.slice(0, 10),
      },
      ...(profileSummary ? { profile: profileSummary } : {}),
    };
  } finally {
    await stack.dispose();
  }
}

export function scenarioName(s: Pick<LoadScenario, 'mode' | 'jobs' | 'rateBytesPerSec'>): string {
  const rate = s.rateBytesPerSec === null ? 'full' : `${round(s.rateBytesPerSec / MiB, 2)}MiBps`;
  return `${s.mode}-${s.jobs}x-${rate}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
