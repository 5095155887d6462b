/** Runs every part of the benchmark in one process and writes latest.json and latest.md. */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { startGatewayProbe, type GatewayProbeResult } from './gateway-probe.js';
import { distAvailable, loadImpl, type ImplKind } from './impl.js';
import { fullSpeedBytesPerJob, rateBytesPerJob, type BenchOptions } from './options.js';
import { renderMarkdown } from './report/markdown.js';
import { evaluateTargets, type TargetResult } from './report/targets.js';
import { runLoadScenario, scenarioName, type LoadResult, type LoadScenario } from './scenarios/load.js';
import { runParseThroughput, type ParseThroughputResult } from './scenarios/parse-throughput.js';
import { runStartOverhead, type StartOverheadOutcome } from './scenarios/start-overhead.js';
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
  };
  options: Omit<BenchOptions, 'outDir' | 'cpuProfileDir' | 'only'>;
  idle: GatewayProbeResult;
  load: LoadResult[];
  memory: LoadResult[];
  parse: ParseThroughputResult;
  startOverhead: StartOverheadOutcome;
  targets: TargetResult[];
}

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

  const load: LoadResult[] = [];
  const scenarios: LoadScenario[] = [];
  for (const rate of [o.rateBytesPerSec, null]) {
    for (const jobs of o.jobCounts) {
      for (const mode of ['worker', 'inline'] as const) {
        scenarios.push({
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
      }
    }
  }
  for (const s of scenarios) {
    if (o.only && !scenarioName(s).includes(o.only)) continue;
    log(`load ${scenarioName(s)} (${(s.bytesPerJob / MiB).toFixed(1)} MiB per job)`);
    const r = await runLoadScenario(impl, s);
    log(
      `  event-loop delay p99 ${r.probe.eventLoopDelayMs.p99} ms, status() p99 ${r.probe.statusMs.p99} ms, ` +
        `${r.aggregateMiBps} MiB/s, ${r.accuracy.identical}/${r.accuracy.jobs} outputs identical`,
    );
    load.push(r);
  }

  const memory: LoadResult[] = [];
  if (!o.only) {
    for (const bytesPerJob of o.memoryBytesPerJob) {
      for (const mode of ['worker', 'inline'] as const) {
        log(`memory ${mode} ${o.memoryJobs} jobs x ${(bytesPerJob / MiB).toFixed(0)} MiB`);
        memory.push(
          await runLoadScenario(impl, {
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
      }
    }
  }

  log(`parse throughput (${(o.parseBytes / MiB).toFixed(0)} MiB x ${o.parseRepeats})`);
  const parse = await runParseThroughput(impl, {
    stream: o.stream,
    bytes: o.parseBytes,
    repeats: o.parseRepeats,
  });

  let startOverhead: StartOverheadOutcome = { available: false, reason: 'skipped (--no-real-runtime)' };
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
  }

  const { outDir: _o, cpuProfileDir: _c, only: _n, ...options } = o;
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      preset: o.preset,
      impl: implKind,
      node: process.version,
      kernel: release(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      durationSeconds: Math.round((Date.now() - began) / 1000),
      generatorMatchesFixture,
    },
    options,
    idle,
    load,
    memory,
    parse,
    startOverhead,
    targets: [],
  };
  results.targets = evaluateTargets(results);
  await mkdir(o.outDir, { recursive: true });
  await writeFile(join(o.outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(o.outDir, 'latest.md'), renderMarkdown(results));
  return results;
}

/** The gateway probe with no jobs at all: this host's noise floor. */
async function idleProbe(ms: number): Promise<GatewayProbeResult> {
  const probe = startGatewayProbe({ status: () => undefined });
  await new Promise((resolve) => setTimeout(resolve, ms));
  return probe.stop();
}
