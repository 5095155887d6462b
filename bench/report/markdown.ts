/** latest.md: the tables the README shows. */
import type { BenchResults } from '../bench.js';
import type { LoadResult } from '../scenarios/load.js';
import { backToIdleSeconds } from '../scenarios/rss.js';
import { MiB, round } from '../stats.js';
import { IDLE_TOLERANCE_MIB } from './targets.js';

/** The design as a reader knows it: the worker pool with its threads, inline, the seed's design. */
export function designLabel(r: LoadResult): string {
  if (r.mode !== 'worker') return r.mode === 'seed' ? "seed's design" : 'inline';
  if (r.threads !== null && r.threads >= r.jobs) return 'worker, 1 thread per job';
  const threads = r.threads ?? r.threadsUsed;
  return threads === null ? 'worker' : `worker, ${threads} thread${threads === 1 ? '' : 's'}`;
}

const mark = (met: boolean | null) => (met === null ? '—' : met ? '✅ met' : '❌ missed');

function loadRow(r: LoadResult): string {
  const p = r.probe;
  const rate = r.rateBytesPerSec === null ? 'full speed' : `${round(r.rateBytesPerSec / MiB, 2)} MiB/s`;
  const cpu = `${p.cpu.processCores} / ${p.cpu.hostCores ?? '?'}`;
  return [
    designLabel(r),
    r.jobs,
    rate,
    `${p.eventLoopDelayMs.p50} / ${p.eventLoopDelayMs.p99} / ${p.eventLoopDelayMs.max}`,
    `${p.statusMs.p50} / ${p.statusMs.p99}`,
    p.eventLoopUtilization,
    runQueue(r),
    cpu,
    r.aggregateMiBps,
    round(r.memory.heapPeakDeltaMiB, 1),
    round(r.memory.rssPeakDeltaMiB / r.jobs, 1),
    `${r.accuracy.identical}/${r.accuracy.jobs}`,
    round(r.rampMs / 1000, 1),
    hostLoad(r),
  ].join(' | ');
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.meta;
  const lines: string[] = [];
  lines.push(`## Benchmark results (${m.preset} run, ${m.date.slice(0, 10)})`, '');
  lines.push(
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}. ` +
      `Run ${m.date} (${m.durationSeconds} s), supervisor from \`${m.impl}/\`, load average at the start ${r.loadAverage.join(' / ')}. ` +
      `Idle main thread on this host (no jobs): event-loop delay p50/p99/max ` +
      `${r.idle.eventLoopDelayMs.p50} / ${r.idle.eventLoopDelayMs.p99} / ${r.idle.eventLoopDelayMs.max} ms.`,
    '',
  );
  if (m.merged?.length) {
    lines.push(
      `Rerun and merged in (bench/merge.ts): ${m.merged.map((x) => `${x.name} (${x.date.slice(11, 16)} UTC, load ${x.loadAverage.join(' / ')})`).join('; ')}.`,
      '',
    );
  }
  lines.push(
    `Load average (1 / 5 / 15 min) at the start ${r.loadAverage.join(' / ')}, at the end ${(r.loadAverageEnd ?? []).join(' / ') || '?'}.`,
    '',
  );
  if (m.partial) {
    lines.push(`**Partial**: the run was still going (or was stopped) when this was written.`, '');
  }
  if (r.failed?.length) {
    lines.push(
      '### Scenarios that failed (the run went on without them)',
      '',
      '| Section | Scenario | When (UTC) | Load (1 min) | Error |',
      '|---|---|---|---:|---|',
    );
    for (const f of r.failed) {
      lines.push(
        `| ${f.section} | ${f.name} | ${f.at.slice(11, 19)} | ${f.loadAverage[0]} | ${shortError(f.error)} |`,
      );
    }
    lines.push('');
  }
  lines.push('### Targets', '', '| Target | Measured | |', '|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.target} | ${t.measured} | ${mark(t.met)} |`);
  lines.push('');

  const header =
    '| Design | Jobs | Rate per job | Event-loop delay p50 / p99 / max (ms) | status() p50 / p99 (ms) | Main-loop utilisation | Main thread waiting for a CPU (ms/s) | CPU cores: process / host | Output MiB/s | Main heap peak Δ (MiB) | RSS Δ per job (MiB) | Bytes identical | Ramp (s) | Host load (1 min) |';
  const rule = '|---|---:|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|';
  lines.push('### Main thread under load (load generator, same supervisor code path)', '', header, rule);
  for (const l of r.load) lines.push(`| ${loadRow(l)} |`);
  lines.push('');
  if (r.sweep.length) {
    lines.push(
      `### Worker threads for ${r.options.threadSweepJobs} jobs (how the default was chosen)`,
      '',
      header,
      rule,
    );
    for (const l of r.sweep) lines.push(`| ${loadRow(l)} |`);
    lines.push('');
  }
  if (r.sessions.length) {
    const o = r.options.session;
    lines.push(
      `### Realistic Claude load (${o.sessionMs / 1000} s synthetic sessions; window ${o.steadyMs / 1000} s after ${o.warmupMs / 1000} s)`,
      '',
      '| Design | Jobs | Queued | Event-loop delay p50 / p99 / max (ms) | status() p50 / p99 (ms) | Main-loop utilisation | Main thread waiting for a CPU (ms/s) | CPU cores: process / host | Output KB/s per job | RSS Δ per job (MiB) | Bytes identical | Ramp (s) | Host load (1 min) |',
      '|---|---:|---:|---|---|---:|---:|---|---:|---:|---:|---:|---:|',
    );
    for (const x of r.sessions) {
      const p = x.probe;
      lines.push(
        `| ${designLabel(x)} | ${x.jobs} | ${x.queued} | ${p.eventLoopDelayMs.p50} / ${p.eventLoopDelayMs.p99} / ${p.eventLoopDelayMs.max} | ${p.statusMs.p50} / ${p.statusMs.p99} | ${p.eventLoopUtilization} | ${runQueue(x)} | ${p.cpu.processCores} / ${p.cpu.hostCores ?? '?'} | ${round((x.aggregateMiBps * MiB) / 1000 / x.jobs, 1)} | ${x.memory.rssWindowPerJobMiB} | ${x.accuracy.identical}/${x.accuracy.jobs} | ${round(x.rampMs / 1000, 1)} | ${hostLoad(x)} |`,
      );
    }
    lines.push('');
  }
  if (r.rss.runs.length || r.rss.skipped.length) {
    lines.push(
      '### Host memory per running job (realistic load, a fresh process per run)',
      '',
      '| Node | Jobs | Threads | RSS of the idle supervisor (MiB) | RSS Δ per running job (MiB) | Δ at the end (MiB) | +15 s | +30 s | +45 s | +60 s | Back within 16 MiB of idle after | Bytes identical |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const { node, result: x } of r.rss.runs) {
      const at = (sec: number) => x.memory.rssAfterEnd.find((a) => a.s === sec)?.deltaMiB ?? '—';
      const back = backToIdleSeconds(x, IDLE_TOLERANCE_MIB);
      lines.push(
        `| ${node} | ${x.jobs} | ${x.threadsUsed ?? '?'} | ${round(x.memory.rssBaselineMiB, 0)} | ${x.memory.rssWindowPerJobMiB} | ${at(0)} | ${at(15)} | ${at(30)} | ${at(45)} | ${at(60)} | ${back === null ? 'not within the run' : `${back} s`} | ${x.accuracy.identical}/${x.accuracy.jobs} |`,
      );
    }
    for (const why of r.rss.skipped) lines.push('', `Not measured: ${why}.`);
    lines.push('');
  }
  lines.push('### Inside a real OpenClaw gateway', '');
  if (r.gateway.available) {
    lines.push(
      '| Node | Jobs | Threads | Gateway RSS idle (MiB) | during the jobs: mean / max (MiB) | after the end: +0 / +30 / +60 s (MiB) | `claude_code_status` via `/tools/invoke` p50 / p95 / p99 (ms) | Completed |',
      '|---|---:|---|---:|---|---|---|---:|',
    );
    for (const g of r.gateway.runs) {
      const at = (sec: number) => round(g.gatewayRssMiB.after.find((a) => a.s === sec)?.mib ?? Number.NaN, 0);
      lines.push(
        `| ${g.node} | ${g.jobs} | ${g.threads === null ? 'default' : `${g.threads} (1 per job)`} | ${g.gatewayRssMiB.idle} | ${g.gatewayRssMiB.windowMean} / ${g.gatewayRssMiB.windowMax} | ${at(0)} / ${at(30)} / ${at(60)} | ${g.statusMs.p50} / ${g.statusMs.p95} / ${g.statusMs.p99} | ${g.completed}/${g.jobs} |`,
      );
    }
  } else {
    lines.push(`Not measured: ${r.gateway.reason}.`);
  }
  lines.push('');

  if (r.memory.length) {
    lines.push(
      '### Memory against output size (full speed)',
      '',
      '| Design | Jobs | Output per job (MiB) | Main live heap Δ (MiB, after GC) | per job | Main heap peak Δ (MiB) | Retained after end (MiB) | RSS peak Δ per job (MiB) | Bytes identical |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const x of r.memory) {
      const live = x.memory.liveHeapDeltaMiB ?? Number.NaN;
      lines.push(
        `| ${designLabel(x)} | ${x.jobs} | ${round(x.bytesPerJob / MiB, 0)} | ${live} | ${round(live / x.jobs, 2)} | ${x.memory.heapPeakDeltaMiB} | ${x.memory.heapRetainedDeltaMiB} | ${round(x.memory.rssPeakDeltaMiB / x.jobs, 1)} | ${x.accuracy.identical}/${x.accuracy.jobs} |`,
      );
    }
    lines.push('');
  }

  const p = r.parse;
  if (p)
    lines.push(
      `### Parse throughput (${round(p.streamBytes / MiB, 0)} MiB of the recording, median of ${p.repeats})`,
      '',
      '| Path | MiB/s | vs bare JSON.parse |',
      '|---|---:|---:|',
      `| bare \`JSON.parse\` over the lines as ready strings (each parsed once) | ${p.bareJsonParseMiBps} | 1.00 |`,
      `| UTF-8 decode + \`JSON.parse\` per line (from bytes) | ${p.decodeAndJsonParseMiBps} | ${round(p.decodeAndJsonParseMiBps / p.bareJsonParseMiBps, 2)} |`,
      `| \`StreamIngest\` alone on 64 KiB chunks (split, parse system/result lines, pass the rest through; output to /dev/null) | ${p.ingestMiBps} | ${round(p.ingestMiBps / p.bareJsonParseMiBps, 2)} |`,
      `| one worker end to end (pipe → JobRunner → output file) | ${p.workerPipelineMiBps} | ${p.workerShareOfBare} |`,
      '',
      `The worker decodes and parses ${round(p.parsedLineShare * 100, 2)}% of the lines (system, result, anything unrecognised); assistant, user and stream_event lines are recognised by their first and last bytes, counted and written as they came. A worker that parsed every line would be capped by the decode + JSON.parse row.`,
      '',
    );

  const v = r.validation;
  lines.push(
    `### Validation on the main thread (a batch of ${v.entries} progress messages)`,
    '',
    '| Step | µs per progress message |',
    '|---|---:|',
    `| receiving it: \`structuredClone\` of the batch (what the port does) | ${v.structuredClonePerMessageUs} |`,
    `| the batch's envelope (\`hostReportSchema\`, once per batch) | ${v.envelopePerMessageUs} |`,
    `| the message itself (\`workerMessageSchema\`, once, where the supervisor takes it) | ${v.zodPerMessageUs} |`,
    '',
  );

  const so = r.startOverhead;
  lines.push('### Start overhead with the real runtime', '');
  if (so.available) {
    lines.push(
      '| Path | Median to first stream-json byte (ms) | Runs (ms) |',
      '|---|---:|---|',
      `| \`supervisor.start()\` → first byte at the job's worker | ${so.medians.supervisorFirstByteMs} | ${so.supervisorFirstByteMs.join(', ')} |`,
      `| bare \`podman run\`, same argv → first stdout byte | ${so.medians.bareFirstByteMs} | ${so.bareFirstByteMs.join(', ')} |`,
      `| **overhead** | **${so.overheadMs}** | |`,
      '',
      `Both run \`${so.image}\` with the same hardening flags, mounts and \`claude -p … --output-format stream-json --verbose\` against the in-repo mock Messages API through the same host proxy; runs alternate after one warm-up each.`,
      '',
    );
  } else {
    lines.push(`Not measured: ${so.reason}.`, '');
  }

  lines.push(
    '### How it was measured',
    '',
    `- Load: N jobs through \`createSupervisor()\` — the worker pool (jobs as actors on a bounded set of threads), \`inlineJobsForBenchmark\` (the same actors on the main thread), or the seed's design (\`bench/seed-pool.ts\`: every line decoded, \`JSON.parse\`d and kept in memory, on the main thread) — with the runtime command pointed at \`bench/load-generator/podman.sh\`, which streams \`${r.options.stream.split('/').slice(-3).join('/')}\` (assistant text, a 43 KB tool_use input, tool_results up to 94 KB per line) repeated to the job's size. Jobs are started, held silent, then released together; rate-limited windows last ${r.options.steadyMs / 1000} s after a ${r.options.warmupMs / 1000} s warm-up, full-speed windows run from the release to the last job's end. Metrics sampling every ${r.options.metricsIntervalSeconds} s per job (the default); the generator puts each job's stream into cgroups of its own (as root on cgroups v1, like podman does for a container), so the worker reads metrics from cgroup files as in production — last sample's source over all load runs: ${metricsSourceSummary(r)}.`,
    '- Event-loop delay: `monitorEventLoopDelay` (5 ms resolution, which is subtracted) on the main thread while a "gateway" timer handles a small JSON chat message and calls `status()` on a random job every 10 ms; `status()` is timed around the call. Utilisation is `eventLoopUtilization`; CPU cores are this process (main + workers) and the whole host from /proc/stat — on a shared machine, host minus process is someone else.',
    `- Byte accuracy: every job's output file is hashed and compared with the load generator's stdout for the same settings, hashed independently (the generator prints the same bytes as \`test/fixtures/fake-runtime.mjs\`: ${m.generatorMatchesFixture ? 'checked' : 'NOT matching'} in this run).`,
    "- Memory: main-thread `heapUsed` (peak, and live after a forced GC every 250 ms in the memory runs) and process RSS (worker threads included) over a baseline taken before any job. RSS per running job: the mean RSS during the window over a fresh supervisor's (its own process, so no earlier scenario is counted), divided by the jobs; after the end, sampled every second after a forced GC of the main thread.",
    `- Realistic Claude load: \`bench/load-generator/claude-session.mjs\` synthesises each job's session from its name (an init line; turns of quiet "thinking" — 75% 0.3–2 s, 25% 3–9 s —, assistant text, 1–4 tool calls, an Edit/Write carrying 5–40 KB, then the tool results as one burst: Read 10–100 KB, Bash 1–30 KB, Grep 2–20 KB; the result line last), about 26 KB/s per job on average. One \`session-server.mjs\` process plays every job's session into a FIFO that the job's runtime client (\`cat\`) copies to the supervisor's pipe.`,
    "- In a real gateway: `openclaw gateway run` (openclaw 2026.9.6, Node 24) with the plugin loaded from this build (`plugins.load.paths`) and the load generator as `podman` on its PATH; `claude_code_status` is called through `POST /tools/invoke` one call after another (100 ms apart) while the jobs run; the gateway process's RSS (its worker threads included, the runtime clients not) is read from /proc.",
    '',
  );
  return `${lines.join('\n')}\n`;
}

/** An error for a table cell: one line, no pipes, at most 300 characters (the JSON has it whole). */
function shortError(error: string): string {
  const line = error.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function hostLoad(r: LoadResult): string {
  return r.loadAverage ? String(r.loadAverage[0]) : '?';
}

function runQueue(r: LoadResult): string {
  return r.probe.mainThread ? String(r.probe.mainThread.runQueueMsPerS) : '?';
}

function metricsSourceSummary(r: BenchResults): string {
  const total: Record<string, number> = {};
  for (const x of [...r.load, ...r.memory]) {
    for (const [source, n] of Object.entries(x.metricsSources ?? {}))
      total[source] = (total[source] ?? 0) + n;
  }
  const parts = Object.entries(total).map(([source, n]) => `${source} ${n}`);
  return parts.length ? parts.join(', ') : 'not recorded';
}
