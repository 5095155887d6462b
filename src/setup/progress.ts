/** Concise progress lines with timings: `setup: <step> … <detail> (1.2 s)`. */
export interface Progress {
  /** Runs one step and prints its outcome; `fn` returns the detail shown after the label. */
  step<T extends { detail: string }>(label: string, fn: () => Promise<T>): Promise<T>;
  line(text: string): void;
  /** Seconds since the progress was created. */
  elapsed(): number;
}

export const formatSeconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

export function createProgress(
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  now: () => number = () => performance.now(),
): Progress {
  const started = now();
  return {
    async step(label, fn) {
      const t0 = now();
      const result = await fn();
      write(`setup: ${label}: ${result.detail} (${formatSeconds(now() - t0)})`);
      return result;
    },
    line(text) {
      write(`setup: ${text}`);
    },
    elapsed() {
      return (now() - started) / 1000;
    },
  };
}
