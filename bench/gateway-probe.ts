/**
 * What the OpenClaw gateway would feel: a timer-driven task on the main thread that handles a
 * small "chat message" every `intervalMs` and asks the supervisor for a job's status, while
 * `monitorEventLoopDelay` records how late the main thread's timers run and
 * `eventLoopUtilization` how busy the loop is.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { startCpuLoad, type CpuLoad } from './cpu-load.js';
import { round, summarize, type Summary } from './stats.js';

export interface GatewayProbeResult {
  durationMs: number;
  /** Main-thread event-loop delay (ms), from monitorEventLoopDelay. */
  eventLoopDelayMs: { p50: number; p99: number; max: number; mean: number; samples: number };
  /** Fraction of wall time the main event loop was busy (0..1). */
  eventLoopUtilization: number;
  /** Latency of the synchronous `status()` call itself (ms). */
  statusMs: Summary;
  /** How late the gateway's own ticks ran (ms): what a chat message would wait before handling. */
  gatewayTickLateMs: Summary;
  cpu: CpuLoad;
  /**
   * The main thread, from /proc (Linux schedstat; null elsewhere): ms per second on a CPU, and ms
   * per second runnable but waiting for one — time the event loop lost to other threads and
   * processes, not to its own work.
   */
  mainThread: { onCpuMsPerS: number; runQueueMsPerS: number } | null;
}

/** [ns on a CPU, ns waiting on a run queue] of the main thread. */
function schedstat(): [number, number] | null {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8')
      .split(' ')
      .map(Number);
    return run === undefined || wait === undefined ? null : [run, wait];
  } catch {
    return null;
  }
}

export interface GatewayProbe {
  stop(): GatewayProbeResult;
}

const CHAT_MESSAGE = {
  channel: 'bench',
  from: 'user-42',
  text: 'How is the refactor going? '.repeat(20),
  attachments: Array.from({ length: 4 }, (_, i) => ({ id: `att-${i}`, size: 1000 * i })),
};

export function startGatewayProbe(opts: {
  status: () => unknown;
  intervalMs?: number;
  resolutionMs?: number;
}): GatewayProbe {
  const intervalMs = opts.intervalMs ?? 10;
  const resolutionMs = opts.resolutionMs ?? 5;
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  const cpu = startCpuLoad();
  const sched0 = schedstat();
  const elu0: EventLoopUtilization = performance.eventLoopUtilization();
  const started = performance.now();
  const statusMs: number[] = [];
  const tickLate: number[] = [];
  let due = started + intervalMs;
  let sink = 0;
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = performance.now();
    tickLate.push(Math.max(0, now - due));
    // A chat message in and out: a little JSON, as a channel handler would do.
    sink += JSON.stringify(JSON.parse(JSON.stringify(CHAT_MESSAGE))).length;
    const t0 = performance.now();
    opts.status();
    statusMs.push(performance.now() - t0);
    due = Math.max(due + intervalMs, performance.now());
    timer = setTimeout(tick, Math.max(0, due - performance.now()));
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop() {
      clearTimeout(timer);
      histogram.disable();
      const elu = performance.eventLoopUtilization(elu0);
      const sched1 = schedstat();
      const seconds = (performance.now() - started) / 1000;
      // The histogram records each sampling interval whole (resolution included): an idle loop
      // reads ~resolution, not 0. Subtract it to get the delay itself.
      const ms = (ns: number) => round(Math.max(0, ns / 1e6 - resolutionMs));
      const result: GatewayProbeResult = {
        durationMs: round(performance.now() - started, 0),
        eventLoopDelayMs: {
          p50: ms(histogram.percentile(50)),
          p99: ms(histogram.percentile(99)),
          max: ms(histogram.max),
          mean: ms(histogram.mean),
          samples: histogram.count,
        },
        eventLoopUtilization: round(elu.utilization),
        statusMs: roundSummary(summarize(statusMs), 4),
        gatewayTickLateMs: roundSummary(summarize(tickLate)),
        cpu: cpu.stop(),
        mainThread:
          sched0 && sched1
            ? {
                onCpuMsPerS: round((sched1[0] - sched0[0]) / 1e6 / seconds, 1),
                runQueueMsPerS: round((sched1[1] - sched0[1]) / 1e6 / seconds, 1),
              }
            : null,
      };
      if (sink < 0) console.log(sink); // keep the chat work observable to the optimiser
      return result;
    },
  };
}

function roundSummary(s: Summary, digits = 3): Summary {
  return {
    count: s.count,
    p50: round(s.p50, digits),
    p99: round(s.p99, digits),
    max: round(s.max, digits),
    mean: round(s.mean, digits),
  };
}
