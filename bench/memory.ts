/** Main-thread heap and process RSS, with a forced GC available without `--expose-gc`. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | null = null;

/** A full GC (enables V8's `gc` once, the documented `--expose-gc` equivalent at runtime). */
export function forceGc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

export interface MemoryPeak {
  heapUsed: number;
  rss: number;
}

/** Samples heapUsed (main thread) and RSS (whole process, worker threads included) every `everyMs`. */
export function startMemorySampler(everyMs = 100): { stop(): MemoryPeak; sample(): void } {
  const peak: MemoryPeak = { heapUsed: 0, rss: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    if (m.heapUsed > peak.heapUsed) peak.heapUsed = m.heapUsed;
    if (m.rss > peak.rss) peak.rss = m.rss;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    sample,
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
