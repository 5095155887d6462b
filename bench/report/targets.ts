/** The targets, judged against one run's numbers. `met: null` = not measured in this run. */
import type { BenchResults } from '../bench.js';
import type { LoadResult } from '../scenarios/load.js';
import { MiB, round } from '../stats.js';

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean | null;
}

const find = (load: LoadResult[], mode: string, jobs: number, rated: boolean) =>
  load.find((r) => r.mode === mode && r.jobs === jobs && (r.rateBytesPerSec !== null) === rated);

export function evaluateTargets(r: BenchResults): TargetResult[] {
  const out: TargetResult[] = [];
  const rateLabel = `${round(r.options.rateBytesPerSec / MiB, 2)} MiB/s`;

  const w32 = find(r.load, 'worker', 32, true);
  const i32 = find(r.load, 'inline', 32, true);
  out.push({
    target: `32 jobs × ${rateLabel}: main-thread p99 event-loop delay < 20 ms`,
    measured: w32 ? `${w32.probe.eventLoopDelayMs.p99} ms` : 'not run (needs the full preset)',
    met: w32 ? w32.probe.eventLoopDelayMs.p99 < 20 : null,
  });
  const ratio =
    w32 && i32 ? i32.probe.eventLoopDelayMs.p99 / Math.max(w32.probe.eventLoopDelayMs.p99, 1e-3) : null;
  out.push({
    target: `32 jobs × ${rateLabel}: p99 event-loop delay ≥ 10× lower than the inline baseline`,
    measured:
      w32 && i32 && ratio !== null
        ? `inline ${i32.probe.eventLoopDelayMs.p99} ms / worker ${w32.probe.eventLoopDelayMs.p99} ms = ${round(ratio, 1)}×`
        : 'not run',
    met: ratio === null ? null : ratio >= 10,
  });

  const w64 = r.load.filter((l) => l.mode === 'worker' && l.jobs === 64);
  const status64 = w64.length ? Math.max(...w64.map((l) => l.probe.statusMs.p99)) : null;
  out.push({
    target: 'status() p99 < 1 ms at 64 jobs',
    measured: status64 === null ? 'not run' : `${status64} ms (worst of the 64-job worker runs)`,
    met: status64 === null ? null : status64 < 1,
  });

  out.push({
    target: 'parse throughput per worker ≥ ½ of bare JSON.parse on the same lines',
    measured: `${r.parse.workerPipelineMiBps} MiB/s vs ${r.parse.bareJsonParseMiBps} MiB/s = ${r.parse.workerShareOfBare}× (decode + JSON.parse: ${r.parse.decodeAndJsonParseMiBps} MiB/s)`,
    met: r.parse.workerShareOfBare >= 0.5,
  });

  const mem = r.memory.filter((m) => m.mode === 'worker').sort((a, b) => a.bytesPerJob - b.bytesPerJob);
  const big = mem.at(-1);
  const small = mem[0];
  if (big && big.memory.liveHeapDeltaMiB !== null) {
    const perJob = big.memory.liveHeapDeltaMiB / big.jobs;
    const growth =
      small && small !== big && small.memory.liveHeapDeltaMiB !== null
        ? `; ${round(small.bytesPerJob / MiB, 0)} MiB/job: ${round(small.memory.liveHeapDeltaMiB / small.jobs, 2)} MiB/job`
        : '';
    out.push({
      target: 'main-thread memory flat in output size (50 MB per job costs the main thread < 5 MB)',
      measured: `${round(big.bytesPerJob / MiB, 0)} MiB/job: live heap +${round(perJob, 2)} MiB/job (${big.jobs} jobs)${growth}`,
      met: big.bytesPerJob >= 50 * MiB ? perJob < 5 : null,
    });
  } else {
    out.push({ target: 'main-thread memory flat in output size', measured: 'not run', met: null });
  }

  const so = r.startOverhead;
  out.push({
    target: 'start overhead < 100 ms over bare `podman run`',
    measured: so.available
      ? `${so.overheadMs} ms (median ${so.medians.supervisorFirstByteMs} vs ${so.medians.bareFirstByteMs} ms, ${so.runs} runs each)`
      : so.reason,
    met: so.available ? so.overheadMs < 100 : null,
  });
  return out;
}
