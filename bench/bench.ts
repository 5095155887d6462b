/** Runs every part of the benchmark in one process and writes latest.json and latest.md. */
import { mkdir, writeFile } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { startGatewayProbe, type GatewayProbeResult } from './gateway-probe.js';
import { distAvailable, loadImpl, type ImplKind } from './impl.js';
import type { JobMode } from './fake-stack.js';
import { fullSpeedBytesPerJob, rateBytesPerJob, type BenchOptions } from './options.js';
import { renderMarkdown } from './report/markdown.js';
import { evaluateTargets, type TargetResult } from './report/targets.js';
import { runLoadScenario, scenarioName, type LoadResult, type LoadScenario } from './scenarios/load.js';
import { runParseThroughput, type ParseThroughputResult } from './scenarios/parse-throughput.js';
import {
  openclawEnv,
  runGatewayScenario,
  type GatewayOutcome,
  type GatewayResult,
} from './scenarios/gateway.js';
import { runRssScenario, type RssOutcome } from './scenarios/rss.js';
import { runStartOverhead, type StartOverheadOutcome } from './scenarios/start-overhead.js';
import { runValidationCost, type ValidationResult } from './scenarios/validation.js';
import { expectedOutput } from './expected-output.js';
import { MiB } from './stats.js';

export interface BenchResults {
  meta: {
    date: string;
    preset: BenchOptions['preset'];
    impl: ImplKind;
    node: string;
    kernel: string;
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    durationSeconds: number;
    /** The light load generator printed the same bytes as the unit tests' fake runtime. */
    generatorMatchesFixture: boolean;
    /** True while the run is still going (the file is rewritten after every scenario). */
    partial?: boolean;
    /** Rows taken in from later reruns (bench/merge.ts): which, when, at what load. */
    merged?: Array<{ name: string; date: string; loadAverage: number[] }>;
  };
  options: Omit<BenchOptions, 'outDir' | 'cpuProfileDir' | 'only'>;
  /** Machine load when the run began (1, 5, 15 minutes). */
  loadAverage: number[];
  /** Machine load when the run ended (or when this file was last written). */
  loadAverageEnd?: number[];
  /** Scenarios that threw: the run went on without them. */
  failed?: ScenarioFailure[];
  idle: GatewayProbeResult;
  load: LoadResult[];
  /** The same loads with the worker pool at several thread counts (threads 0 = one per job). */
  sweep: LoadResult[];
  /** The realistic Claude load. */
  sessions: LoadResult[];
  memory: LoadResult[];
  rss: RssOutcome;
  gateway: GatewayOutcome;
  /** The previous design's figures (one thread per job), from bench/results/before-actors.json. */
  before: Pick<BenchResults, 'meta' | 'load'> | null;
  /** Null when it failed (see `failed`). */
  parse: ParseThroughputResult | null;
  validation: ValidationResult;
  startOverhead: StartOverheadOutcome;
  targets: TargetResult[];
}

export interface ScenarioFailure {
  section: string;
  name: string;
  error: string;
  /** When it failed, and the machine's load then (1, 5, 15 minutes). */
  at: string;
  loadAverage: number[];
}

const currentLoad = () => loadavg().map((x) => Math.round(x * 100) / 100);

export async function runBench(
  o: BenchOptions,
  log: (line: string) => void = () => undefined,
): Promise<BenchResults> {
  const began = Date.now();
  const implKind: ImplKind = o.impl === 'dist' && !distAvailable() ? 'src' : o.impl;
  if (implKind !== o.impl) log('dist/ is not built: driving src/ through tsx instead (run `npm run build`)');
  const impl = await loadImpl(implKind);
  if (o.cpuProfileDir) await mkdir(o.cpuProfileDir, { recursive: true });

  const cross = Math.min(4 * MiB, o.fullSpeedTotalBytes);
  const [light, fixture] = await Promise.all([
    expectedOutput(o.stream, cross, 'light'),
    expectedOutput(o.stream, cross, 'fixture'),
  ]);
  const generatorMatchesFixture = light.sha256 === fixture.sha256 && light.bytes === fixture.bytes;

  log(`idle main thread (${o.idleMs} ms)`);
  const idle = await idleProbe(o.idleMs);

  const loadAverage = currentLoad();
  const load: LoadResult[] = [];
  const sweep: LoadResult[] = [];
  const sessions: LoadResult[] = [];
  const memory: LoadResult[] = [];
  const rss: RssOutcome = { runs: [], skipped: [] };
  const failed: ScenarioFailure[] = [];
  let parse: ParseThroughputResult | null = null;
  let startOverhead: StartOverheadOutcome = { available: false, reason: 'skipped (--no-real-runtime)' };
  let gateway: GatewayOutcome = { available: false, reason: 'skipped (--no-gateway or --only)' };
  log('validation cost of a progress message on the main thread');
  const validation = runValidationCost();
  const before = await readFile(new URL('./results/before-actors.json', import.meta.url), 'utf8')
    .then((text) => JSON.parse(text) as Pick<BenchResults, 'meta' | 'load'>)
    .then((b) => ({ meta: b.meta, load: b.load }))
    .catch(() => null);

  /** Writes latest.json and latest.md with what has run so far: a run cut short keeps its rows. */
  const save = async (partial: boolean): Promise<BenchResults> => {
    const { outDir: _o, cpuProfileDir: _c, only: _n, failScenarios: _f, ...options } = o;
    const results: BenchResults = {
      meta: {
        date: new Date(began).toISOString(),
        preset: o.preset,
        impl: implKind,
        node: process.version,
        kernel: release(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
        durationSeconds: Math.round((Date.now() - began) / 1000),
        generatorMatchesFixture,
        ...(partial ? { partial: true } : {}),
      },
      options,
      loadAverage,
      loadAverageEnd: currentLoad(),
      failed,
      idle,
      load,
      sweep,
      sessions,
      memory,
      rss,
      gateway,
      before,
      parse,
      validation,
      startOverhead,
      targets: [],
    };
    results.targets = evaluateTargets(results);
    await mkdir(o.outDir, { recursive: true });
    await writeFile(join(o.outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(o.outDir, 'latest.md'), renderMarkdown(results));
    return results;
  };

  /**
   * One scenario: a failure is recorded (section, name, error, the load then) and the run goes on
   * with the next; the results files are rewritten after every scenario.
   */
  const attempt = async <T>(section: string, name: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      if (o.failScenarios?.some((n) => name.includes(n))) throw new Error('failure injected (failScenarios)');
      return await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failed.push({
        section,
        name,
        error: message,
        at: new Date().toISOString(),
        loadAverage: currentLoad(),
      });
      log(`  FAILED ${section} ${name}: ${message}`);
      return null;
    } finally {
      await save(true);
    }
  };
  const loadRun = async (section: string, into: LoadResult[], s: LoadScenario): Promise<void> => {
    const r = await attempt(section, scenarioName(s), () => runAndLog(impl, s, log));
    if (r) into.push(r);
  };

  // The targets first (rate-limited load, the realistic load, RSS per job), so a run
  // that must stop early has them; then the rest.
  const loadScenario = (rate: number | null, jobs: number, mode: JobMode): LoadScenario => ({
    mode,
    jobs,
    rateBytesPerSec: rate,
    bytesPerJob: rate === null ? fullSpeedBytesPerJob(o, jobs) : rateBytesPerJob(o),
    stream: o.stream,
    steadyMs: o.steadyMs,
    warmupMs: o.warmupMs,
    metricsIntervalSeconds: o.metricsIntervalSeconds,
    ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}),
  });
  const loadPass = async (rate: number | null): Promise<void> => {
    for (const jobs of o.jobCounts) {
      for (const mode of o.modes) {
        const s = loadScenario(rate, jobs, mode);
        if (o.only && !scenarioName(s).includes(o.only)) continue;
        log(`load ${scenarioName(s)} (${(s.bytesPerJob / MiB).toFixed(1)} MiB per job)`);
        await loadRun('load', load, s);
      }
    }
  };
  await loadPass(o.rateBytesPerSec);

  const biggest = Math.max(...o.session.jobCounts);
  for (const jobs of o.session.jobCounts) {
    for (const mode of o.session.modes) {
      const s: LoadScenario = {
        mode,
        jobs,
        rateBytesPerSec: null,
        bytesPerJob: 0,
        stream: o.stream,
        sessionMs: o.session.sessionMs,
        steadyMs: o.session.steadyMs,
        warmupMs: o.session.warmupMs,
        metricsIntervalSeconds: o.metricsIntervalSeconds,
        ...(mode === 'worker' && jobs === biggest && o.session.queued ? { queued: o.session.queued } : {}),
        ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}),
      };
      if (o.only && !scenarioName(s).includes(o.only)) continue;
      log(`realistic Claude load ${scenarioName(s)} (${o.session.sessionMs / 1000} s sessions)`);
      await loadRun('realistic', sessions, s);
    }
  }

  if (o.rss && !o.only) {
    const nodes: Array<{ bin: string; why: string }> = [{ bin: process.execPath, why: 'this Node' }];
    if (o.rss.node24) {
      try {
        nodes.push({ bin: (await openclawEnv()).nodeBin, why: "the gateway's Node" });
      } catch (error) {
        rss.skipped.push(`Node 24: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const node of nodes) {
      for (const jobs of o.rss.jobCounts) {
        log(
          `RSS per job: ${jobs} jobs on ${node.why} (fresh process, ${o.rss.afterEndMs / 1000} s after the end)`,
        );
        const run = await attempt('rss', `${node.why} × ${jobs}`, () =>
          runRssScenario(node.bin, {
            mode: 'worker',
            jobs,
            rateBytesPerSec: null,
            bytesPerJob: 0,
            stream: o.stream,
            sessionMs: o.session.sessionMs,
            steadyMs: o.session.steadyMs,
            warmupMs: o.session.warmupMs,
            metricsIntervalSeconds: o.metricsIntervalSeconds,
            afterEndMs: o.rss!.afterEndMs,
          }),
        );
        if (!run) continue;
        log(
          `  ${run.node}: ${run.result.memory.rssWindowPerJobMiB} MiB per job; after the end ` +
            run.result.memory.rssAfterEnd
              .filter((x) => x.s % 15 === 0)
              .map((x) => `+${x.s}s ${x.deltaMiB} MiB`)
              .join(', '),
        );
        rss.runs.push(run);
      }
    }
  }

  await loadPass(null);

  for (const rate of [o.rateBytesPerSec, null]) {
    for (const threads of o.threadSweep) {
      const jobs = o.threadSweepJobs;
      const s: LoadScenario = {
        ...loadScenario(rate, jobs, 'worker'),
        threads: threads === 0 ? jobs : threads,
      };
      delete s.cpuProfileDir;
      if (o.only && !scenarioName(s).includes(o.only)) continue;
      log(`thread sweep ${scenarioName(s)}`);
      await loadRun('thread sweep', sweep, s);
    }
  }

  for (const jobs of o.perJobFullSpeed) {
    const s: LoadScenario = { ...loadScenario(null, jobs, 'worker'), threads: jobs };
    delete s.cpuProfileDir;
    if (o.only && !scenarioName(s).includes(o.only)) continue;
    log(`one thread per job, full speed: ${scenarioName(s)}`);
    await loadRun('thread sweep', sweep, s);
  }

  if (!o.only) {
    for (const bytesPerJob of o.memoryBytesPerJob) {
      for (const mode of o.modes) {
        const name = `memory ${mode} ${o.memoryJobs} jobs x ${(bytesPerJob / MiB).toFixed(0)} MiB`;
        log(name);
        const r = await attempt('memory', name, () =>
          runLoadScenario(impl, {
            mode,
            jobs: o.memoryJobs,
            rateBytesPerSec: null,
            bytesPerJob,
            stream: o.stream,
            steadyMs: o.steadyMs,
            warmupMs: o.warmupMs,
            metricsIntervalSeconds: o.metricsIntervalSeconds,
            liveHeapEveryMs: 250,
          }),
        );
        if (r) memory.push(r);
      }
    }
  }

  log(`parse throughput (${(o.parseBytes / MiB).toFixed(0)} MiB x ${o.parseRepeats})`);
  parse = await attempt('parse', 'parse throughput', () =>
    runParseThroughput(impl, { stream: o.stream, bytes: o.parseBytes, repeats: o.parseRepeats }),
  );

  if (o.realRuntime) {
    log(`start overhead with the real runtime (${o.realRuns} runs each)`);
    try {
      startOverhead = await runStartOverhead(impl, { runs: o.realRuns });
    } catch (error) {
      startOverhead = {
        available: false,
        reason: `failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    await save(true);
  }

  if (o.gateway && !o.only) {
    try {
      const oc = await openclawEnv();
      const runs: GatewayResult[] = [];
      for (const jobs of o.gateway.jobCounts) {
        for (const threads of [null, jobs]) {
          const name = `${jobs} jobs, ${threads === null ? 'default threads' : 'one thread per job'}`;
          log(`in a real gateway: ${name}`);
          const r = await attempt('gateway', name, () =>
            runGatewayScenario(oc, {
              jobs,
              threads,
              sessionMs: o.session.sessionMs,
              windowMs: o.gateway!.windowMs,
              afterEndMs: o.gateway!.afterEndMs,
            }),
          );
          if (!r) continue;
          log(
            `  gateway RSS idle ${r.gatewayRssMiB.idle} MiB, window ${r.gatewayRssMiB.windowMean} MiB; ` +
              `claude_code_status p50/p95 ${r.statusMs.p50}/${r.statusMs.p95} ms`,
          );
          runs.push(r);
          gateway = { available: true, runs };
        }
      }
      gateway = runs.length ? { available: true, runs } : { available: false, reason: 'every run failed' };
    } catch (error) {
      gateway = {
        available: false,
        reason: `failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }

  return save(false);
}

async function runAndLog(
  impl: Awaited<ReturnType<typeof loadImpl>>,
  s: LoadScenario,
  log: (line: string) => void,
): Promise<LoadResult> {
  const loadAverage = currentLoad();
  const r = { ...(await runLoadScenario(impl, s)), loadAverage };
  log(
    `  load ${loadAverage[0]}; event-loop delay p50/p99 ${r.probe.eventLoopDelayMs.p50}/${r.probe.eventLoopDelayMs.p99} ms, ` +
      `status() p99 ${r.probe.statusMs.p99} ms, ${r.aggregateMiBps} MiB/s, ` +
      `${r.accuracy.identical}/${r.accuracy.jobs} outputs identical` +
      (r.threadsUsed !== null ? `, ${r.threadsUsed} threads` : ''),
  );
  return r;
}

/** The gateway probe with no jobs at all: this host's noise floor. */
async function idleProbe(ms: number): Promise<GatewayProbeResult> {
  const probe = startGatewayProbe({ status: () => undefined });
  await new Promise((resolve) => setTimeout(resolve, ms));
  return probe.stop();
}
