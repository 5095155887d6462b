/**
 * CPU use during a window: this process (main thread and workers together) and the whole host
 * (from /proc/stat), in cores. On a shared 2-core machine the difference tells whether something
 * else was competing — e.g. the load generator's processes, or another job on the host.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { round } from './stats.js';

export interface CpuLoad {
  /** Cores used by this process (all threads). */
  processCores: number;
  /** Cores busy on the whole host; null where /proc/stat is unavailable. */
  hostCores: number | null;
  hostCoresAvailable: number;
}

function hostTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export function startCpuLoad(): { stop(): CpuLoad } {
  const cores = availableParallelism();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const host0 = hostTicks();
  return {
    stop() {
      const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const host1 = hostTicks();
      const hostCores =
        host0 && host1 && host1.total > host0.total
          ? ((host1.busy - host0.busy) / (host1.total - host0.total)) * cores
          : null;
      return {
        processCores: round((cpu.user + cpu.system) / wallUs, 2),
        hostCores: hostCores === null ? null : round(hostCores, 2),
        hostCoresAvailable: cores,
      };
    },
  };
}
