/**
 * One load scenario: N jobs through a real supervisor (worker pool, or the inline baseline),
 * each streaming recorded stream-json from the load generator, with the gateway probe on the
 * main thread. The jobs are started first and held silent; then they all stream at once, so the
 * measurement window has every job at full load. Afterwards every job's output file is checked
 * byte for byte against the reference.
 */
import { performance } from 'node:perf_hooks';
import type { JobStatus } from '../../src/supervisor/job-view.js';
import { sessionDigest } from '../load-generator/claude-session.mjs';
import { expectedOutput, hashFile, type ExpectedOutput } from '../expected-output.js';
import { fakeStack, type JobMode } from '../fake-stack.js';
import { startGatewayProbe, type GatewayProbeResult } from '../gateway-probe.js';
import type { Impl } from '../impl.js';
import { forceGc, startMemorySampler } from '../memory.js';
import { MiB, round } from '../stats.js';
import { startWindowProfiler, type ProfileSummary, type WindowProfiler } from '../window-profiler.js';

export interface LoadScenario {
  mode: JobMode;
  jobs: number;
  /** Per job; null = full speed. */
  rateBytesPerSec: number | null;
  bytesPerJob: number;
  stream: string;
  /**
   * Rate-limited: the window starts `warmupMs` after the go and lasts `steadyMs` (bytesPerJob
   * should last longer). Full speed: the window runs from the go until the last job ended.
   */
  steadyMs: number;
  warmupMs: number;
  metricsIntervalSeconds: number;
  /** Force a GC this often during the run and record the live heap (memory scenarios only). */
  liveHeapEveryMs?: number;
  /** Write a main-thread CPU profile of the measurement window here. */
  cpuProfileDir?: string;
  /**
   * A synthetic Claude session per job (realistic shape and pacing) of this length, instead of the
   * recording; `bytesPerJob` and `rateBytesPerSec` are then ignored and the window is steady.
   */
  sessionMs?: number;
  /** Worker threads (worker mode); default: the config's default. */
  threads?: number;
  /** Jobs started after the running ones, left queued through the window (then cancelled). */
  queued?: number;
  /** After the last job ended, sample the process RSS every second for this long. */
  afterEndMs?: number;
}

export interface LoadResult {
  name: string;
  mode: JobMode;
  /** Worker threads the pool was allowed (worker mode), as configured; null otherwise. */
  threads: number | null;
  /** The most threads the pool ran during the run (worker mode). */
  threadsUsed: number | null;
  /** A synthetic session per job of this length, or null (the recording). */
  sessionMs: number | null;
  queued: number;
  jobs: number;
  rateBytesPerSec: number | null;
  bytesPerJob: number;
  /** From the first start() until every job's worker had spawned its runtime client. */
  rampMs: number;
  window: 'steady' | 'go-to-end';
  probe: GatewayProbeResult;
  /** Output bytes written by all jobs during the window, per second (MiB/s). */
  aggregateMiBps: number;
  /** Jobs by the source of their last metrics sample: cgroup, stats, or none (no sample yet). */
  metricsSources: Record<string, number>;
  memory: {
    heapBaselineMiB: number;
    /** Peak main-thread heapUsed over the baseline (garbage included). */
    heapPeakDeltaMiB: number;
    /** Live main-thread heap (after a forced GC) at its highest during the run, over the baseline. */
    liveHeapDeltaMiB: number | null;
    /** Main-thread heap still held after every job ended (forced GC), over the baseline. */
    heapRetainedDeltaMiB: number;
    rssBaselineMiB: number;
    /** Peak process RSS (worker threads included) over the baseline taken before any job. */
    rssPeakDeltaMiB: number;
    /** Mean process RSS during the window, over the baseline, per running job. */
    rssWindowPerJobMiB: number;
    /** Process RSS after the last job ended (seconds after, MiB over the baseline; the main heap's share). */
    rssAfterEnd: Array<{ s: number; deltaMiB: number; heapTotalDeltaMiB: number }>;
  };
  accuracy: { jobs: number; identical: number; completed: number; expectedBytes: number; problems: string[] };
  profile?: ProfileSummary;
  /** The machine's load average (1, 5, 15 minutes) when the scenario began. */
  loadAverage?: number[];
}

const RAMP_TIMEOUT_MS = 180_000;
/**
 * Jobs started at once during the ramp: each `start()` of a fresh supervisor may ask the runtime
 * about the image, and 128 of those at once on a loaded 2-core host took more than the runtime
 * call's 30 s timeout (the 2026-11-28 run crashed there). Batches keep the ramp's load bounded.
 */
const RAMP_BATCH = 16;
/** After the last job reports `running`, give the runtime clients a moment to boot. */
const SETTLE_MS = 1000;

export async function runLoadScenario(impl: Impl, s: LoadScenario): Promise<LoadResult> {
  const name = scenarioName(s);
  const session = s.sessionMs !== undefined;
  const recording = session ? null : await expectedOutput(s.stream, s.bytesPerJob);
  const stack = await fakeStack({
    impl,
    mode: s.mode,
    jobs: s.jobs,
    load: {
      stream: s.stream,
      totalBytes: s.bytesPerJob,
      rateBytesPerSec: s.rateBytesPerSec,
      ...(session ? { sessionMs: s.sessionMs } : {}),
    },
    metricsIntervalSeconds: s.metricsIntervalSeconds,
    ...(s.threads === undefined ? {} : { threads: s.threads }),
    ...(s.queued ? { maxPendingJobs: s.queued } : {}),
  });
  const expectedFor = (jobId: string): ExpectedOutput =>
    recording ?? sessionDigest(`claude-pod-${jobId}`, { durationMs: s.sessionMs });
  try {
    const { sup } = stack;
    forceGc();
    const base = process.memoryUsage();
    const sampler = startMemorySampler();

    // ---- ramp: start every job; each is held silent until the go ----
    const running = new Set<string>();
    let allRunning: () => void = () => undefined;
    const everyoneRunning = new Promise<void>((resolve) => (allRunning = resolve));
    const onRunning = (st: JobStatus) => {
      running.add(st.jobId);
      if (running.size === s.jobs) allRunning();
    };
    sup.on('job:running', onRunning);
    const t0 = performance.now();
    const jobIds = await startInBatches(s.jobs, (i) => sup.start({ prompt: `bench job ${i}` }));
    const ends = jobIds.map((id) => stack.waitForEnd(id));
    await withTimeout(everyoneRunning, RAMP_TIMEOUT_MS, () => {
      // Which jobs never ran, and where they stand: the failure says why, not only how many.
      const stuck = jobIds
        .filter((id) => !running.has(id))
        .slice(0, 5)
        .map((id) => {
          const st = sup.status(id);
          return `${id}: ${st.status}${st.errorCode ? ` ${st.errorCode}` : ''}${st.error ? ` (${st.error})` : ''}`;
        });
      return `jobs to run (${running.size}/${s.jobs}; not running: ${stuck.join('; ')})`;
    });
    const rampMs = performance.now() - t0;
    sup.off('job:running', onRunning);
    await sleep(SETTLE_MS);

    // ---- jobs that wait: queued behind the running ones for the whole window ----
    const queuedIds = s.queued
      ? await startInBatches(s.queued, (i) => sup.start({ prompt: `bench queued job ${i}` }))
      : [];
    const allIds = [...jobIds, ...queuedIds];
    if (queuedIds.length) {
      // Handed to the pool (output file opened, waiting in its queue) before the window opens.
      const pool = stack.pool;
      await withTimeout(
        (async () => {
          while (pool ? pool.queueSize < queuedIds.length : false) await sleep(50);
        })(),
        RAMP_TIMEOUT_MS,
        () => `queued jobs to reach the pool (${pool?.queueSize ?? '?'}/${queuedIds.length})`,
      );
      await sleep(SETTLE_MS);
    }

    // ---- the window ----
    let liveHeapPeak = 0;
    const liveTimer = s.liveHeapEveryMs
      ? setInterval(() => {
          forceGc();
          liveHeapPeak = Math.max(liveHeapPeak, process.memoryUsage().heapUsed);
        }, s.liveHeapEveryMs)
      : null;
    const status = () => sup.status(allIds[Math.floor(Math.random() * allIds.length)]!);
    const outputTotal = () => jobIds.reduce((acc, id) => acc + sup.status(id).outputSize, 0);
    let profiler: WindowProfiler | null = null;
    let probe: GatewayProbeResult;
    let windowBytes: number;
    let rssWindowSum = 0;
    let rssWindowSamples = 0;
    let threadsUsed: number | null = null;
    const rssWindow = setInterval(() => {
      rssWindowSum += process.memoryUsage.rss();
      rssWindowSamples++;
      if (stack.pool) threadsUsed = Math.max(threadsUsed ?? 0, stack.pool.threads);
    }, 250);
    rssWindow.unref();
    await stack.go();
    if (s.rateBytesPerSec !== null || session) {
      await sleep(s.warmupMs);
      const bytes0 = outputTotal();
      rssWindowSum = 0;
      rssWindowSamples = 0;
      if (s.cpuProfileDir) profiler = await startWindowProfiler(s.cpuProfileDir, name);
      const gateway = startGatewayProbe({ status });
      await sleep(s.steadyMs);
      probe = gateway.stop();
      windowBytes = outputTotal() - bytes0;
    } else {
      if (s.cpuProfileDir) profiler = await startWindowProfiler(s.cpuProfileDir, name);
      const gateway = startGatewayProbe({ status });
      await Promise.all(ends);
      probe = gateway.stop();
      windowBytes = s.jobs * recording!.bytes;
    }
    clearInterval(rssWindow);
    const rssWindowMean = rssWindowSamples ? rssWindowSum / rssWindowSamples : process.memoryUsage.rss();
    const profile = profiler ? await (profiler as WindowProfiler).stop() : undefined;
    // The queued jobs are not part of the load: cancelled once the window is over.
    await Promise.all(queuedIds.map((id) => sup.cancel(id).catch(() => undefined)));
    // Where each job's last metrics sample came from (cgroup files, the runtime's `stats`, none).
    const metricsSources: Record<string, number> = {};
    for (const id of jobIds) {
      const source = sup.status(id).metrics?.source ?? 'none';
      metricsSources[source] = (metricsSources[source] ?? 0) + 1;
    }
    const finals = await Promise.all(ends);
    if (liveTimer) clearInterval(liveTimer);
    const peak = sampler.stop();
    forceGc();
    const retained = process.memoryUsage().heapUsed;
    const rssAfterEnd: LoadResult['memory']['rssAfterEnd'] = [];
    if (s.afterEndMs) {
      const ended = performance.now();
      for (let at = 0; at <= s.afterEndMs; at += 1000) {
        await sleep(Math.max(0, ended + at - performance.now()));
        forceGc();
        const m = process.memoryUsage();
        rssAfterEnd.push({
          s: at / 1000,
          deltaMiB: round((m.rss - base.rss) / MiB, 1),
          heapTotalDeltaMiB: round((m.heapTotal - base.heapTotal) / MiB, 1),
        });
      }
    }

    // ---- byte accuracy ----
    const problems: string[] = [];
    let identical = 0;
    for (const final of finals) {
      if (final.status !== 'completed')
        problems.push(`${final.jobId}: ${final.status} ${final.error ?? ''}`.trim());
      const expected = expectedFor(final.jobId);
      const got = await hashFile(stack.outputPath(final.jobId));
      if (got.bytes === expected.bytes && got.sha256 === expected.sha256) identical++;
      else
        problems.push(
          `${final.jobId}: ${got.bytes} B (sha256 ${got.sha256.slice(0, 12)}…), expected ${expected.bytes} B`,
        );
    }
    const mib = (n: number) => round(n / MiB, 2);
    return {
      name,
      mode: s.mode,
      threads: s.mode === 'worker' ? (s.threads ?? null) : null,
      threadsUsed,
      sessionMs: s.sessionMs ?? null,
      queued: queuedIds.length,
      jobs: s.jobs,
      rateBytesPerSec: s.rateBytesPerSec,
      bytesPerJob: s.bytesPerJob,
      rampMs: round(rampMs, 0),
      window: s.rateBytesPerSec !== null ? 'steady' : 'go-to-end',
      probe,
      aggregateMiBps: round(windowBytes / MiB / (probe.durationMs / 1000), 1),
      metricsSources,
      memory: {
        heapBaselineMiB: mib(base.heapUsed),
        heapPeakDeltaMiB: mib(peak.heapUsed - base.heapUsed),
        liveHeapDeltaMiB: s.liveHeapEveryMs ? mib(liveHeapPeak - base.heapUsed) : null,
        heapRetainedDeltaMiB: mib(retained - base.heapUsed),
        rssBaselineMiB: mib(base.rss),
        rssPeakDeltaMiB: mib(peak.rss - base.rss),
        rssWindowPerJobMiB: round((rssWindowMean - base.rss) / MiB / s.jobs, 2),
        rssAfterEnd,
      },
      accuracy: {
        jobs: finals.length,
        identical,
        completed: finals.filter((f) => f.status === 'completed').length,
        expectedBytes: session
          ? Math.round(mean(finals.map((f) => expectedFor(f.jobId).bytes)))
          : recording!.bytes,
        problems: problems.slice(0, 10),
      },
      ...(profile ? { profile } : {}),
    };
  } finally {
    await stack.dispose();
  }
}

export function scenarioName(
  s: Pick<LoadScenario, 'mode' | 'jobs' | 'rateBytesPerSec' | 'sessionMs' | 'threads' | 'queued'>,
): string {
  const rate =
    s.sessionMs !== undefined
      ? 'claude'
      : s.rateBytesPerSec === null
        ? 'full'
        : `${round(s.rateBytesPerSec / MiB, 2)}MiBps`;
  const threads = s.mode === 'worker' && s.threads !== undefined ? `-t${s.threads}` : '';
  const queued = s.queued ? `-q${s.queued}` : '';
  return `${s.mode}${threads}-${s.jobs}x-${rate}${queued}`;
}

/** Starts `count` jobs, RAMP_BATCH at a time (each batch's starts run concurrently). */
async function startInBatches(
  count: number,
  start: (i: number) => Promise<{ jobId: string }>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < count; from += RAMP_BATCH) {
    const batch = Array.from({ length: Math.min(RAMP_BATCH, count - from) }, (_, k) => start(from + k));
    ids.push(...(await Promise.all(batch)).map((r) => r.jobId));
  }
  return ids;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what()}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
