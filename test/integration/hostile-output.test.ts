/**
 * A hostile container's stdout, end to end: real runtime, real image, real Claude Code CLI. The
 * mock API has Claude run one Bash command; that command waits for the test's go (a file in the
 * workspace), then writes straight into the stdout that Claude's stream-json goes through —
 * `/proc/1/fd/1` is catatonit's (`--init`), the very pipe Claude's stdout is — bytes that
 * Claude never wrote, generated in the container by `head -c` and `tr`.
 *
 * The host must stay up, its memory bounded, its main thread responsive, registry.json small,
 * and the output within maxOutputSize. Baselines are taken when every job's worker thread and
 * Claude are up and nothing big has been printed yet.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import type { JobStatus } from '../../src/index.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import { loadRegistry } from '../../src/supervisor/registry-file.js';
import { statePaths } from '../../src/supervisor/state-paths.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, type Stack } from './helpers/stack.js';

const env = await requireRuntime();

const MiB = 1024 * 1024;
const CAP = 10 * MiB; // maxOutputSize (the default)
const MARKER_BYTES = 120; // the truncation marker line is ~95 bytes
/**
 * The host's RSS may grow by at most this much over the baseline during the attack (5 streams at
 * full speed, 2.7 GB in all). What the ingest holds is bounded by the line limit (4 MiB a job;
 * the unit tests hold it to < 16 MiB after 812 MiB pushed); nearly all of the growth is the
 * runtime client's reader: a worker thread that drains a pipe through `'data'` events gets a
 * fresh 64 KiB buffer per read, collected lazily. Five bare worker threads draining 1 GiB each,
 * with no parsing and no file, grow RSS by 160–180 MiB on the 2-core development machine; this
 * test measured 110–210 MiB over eight runs. The bound is there to catch memory that grows with
 * what is printed: holding any one of these lines is +300 MiB to +1 GiB (before the line limit,
 * one 200 MiB line took the host from 71 MiB to 2.7 GB).
 */
const RSS_BOUND = 300 * MiB;
/** status() as a caller on the host's event loop sees it: p99 of the samples. */
const STATUS_P99_MS = 5;
/** A job's status (its report, tail and error bounded): characters of JSON. */
const STATUS_BOUND = 12 * 1024;
/** registry.json holds every job's bounded report and tail: this small with 5 jobs. */
const REGISTRY_BOUND = 64 * 1024;

/** Wait for the go file, then write to Claude's stdout (catatonit's fd 1 is the same pipe). */
const attack = (script: string) =>
  `while [ ! -e /workspace/go ]; do sleep 0.05; done; { ${script}; } > /proc/1/fd/1`;
const bytesOf = (n: number, char: string) => `head -c ${n} /dev/zero | tr '\\0' ${char}`;
/** A `result` event whose text is `n` bytes of `char`; no newline. */
const resultLine = (n: number, char: string) =>
  `printf '{"type":"result","subtype":"success","is_error":false,"num_turns":7,"session_id":"evil","result":"'; ${bytesOf(n, char)}; printf '"}'`;

const ATTACKS = {
  /** A 300 MiB `result` line, then Claude is killed: the attack that took down main. */
  bigResult: attack(`${resultLine(300 * MiB, 'A')}; printf '\\n'`) + '; kill -9 -1',
  /** 1 GiB without a newline, and the stream ends inside it (Claude is killed). */
  unterminated: attack(bytesOf(1024 * MiB, 'Z')) + '; kill -9 -1',
  /** 40 `result` lines of 1 MiB, then Claude goes on to its own result. */
  manyResults: attack(`for i in $(seq 40); do ${resultLine(MiB, 'B')}; printf '\\n'; done`),
};

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A job's output file, wherever the supervisor lays its state out: `…/<jobId>/output.jsonl`. */
async function findOutputFile(root: string, jobId: string): Promise<string> {
  const entries = await readdir(root, { recursive: true });
  const hit = entries.find((e) => e.endsWith(join(jobId, 'output.jsonl')));
  if (!hit) throw new Error(`no output file for ${jobId} under ${root}`);
  return join(root, hit);
}

/** The first object in `value` (any depth) with `jobId === id`. */
function findJobRecord(value: unknown, id: string): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object') return null;
  if ((value as Record<string, unknown>).jobId === id) return value as Record<string, unknown>;
  for (const child of Object.values(value)) {
    const found = findJobRecord(child, id);
    if (found) return found;
  }
  return null;
}

const findNumber = (value: unknown, key: string): number | null => {
  if (value === null || typeof value !== 'object') return null;
  const own = (value as Record<string, unknown>)[key];
  if (typeof own === 'number') return own;
  for (const child of Object.values(value)) {
    const found = findNumber(child, key);
    if (found !== null) return found;
  }
  return null;
};

describe.skipIf(!env.available)(
  `a hostile container's stdout (real runtime, image and CLI)${skipNote(env)}`,
  () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ maxConcurrentJobs: 5, maxOutputSize: CAP, idleTimeout: 120 });
    });
    afterAll(async () => {
      await stack?.dispose();
    });

    it('2 × 300 MiB result lines, 2 × 1 GiB unterminated lines, 40 × 1 MiB results: the host stays up and bounded', async () => {
      const sup = stack.supervisor;
      const began = performance.now();
      const kinds = ['bigResult', 'bigResult', 'unterminated', 'unterminated', 'manyResults'] as const;
      const jobs = await Promise.all(
        kinds.map(async (kind) => {
          const { jobId, sessionId } = await sup.start({
            prompt: `run it ${formatDirective('bash', { command: ATTACKS[kind] })}`,
          });
          return { kind, jobId, sessionId };
        }),
      );
      const ended = Promise.all(jobs.map((j) => stack.waitForEnd(j.jobId)));

      // Every job running, its worker thread up and Claude's init line in: the baseline.
      for (;;) {
        const statuses = jobs.map((j) => sup.status(j.jobId));
        if (statuses.every((s) => s.status === 'running' && s.claude.sessionId !== null)) break;
        const over = statuses.find((s) => ['completed', 'failed', 'cancelled'].includes(s.status));
        if (over) throw new Error(`job ended before the attack: ${JSON.stringify(over)}`);
        await sleep(50);
      }
      await sleep(500);
      const baselineRss = process.memoryUsage.rss();

      // Sample status() and RSS on the host's event loop for as long as the attack lasts.
      const latencies: number[] = [];
      let peakRss = baselineRss;
      let peakRegistry = 0;
      let sampling = true;
      const registryPath = join(stack.dir, 'sessions', 'registry.json');
      const sampler = (async () => {
        let n = 0;
        while (sampling) {
          const t0 = performance.now();
          await new Promise<void>((resolve) => setImmediate(resolve));
          for (const j of jobs) sup.status(j.jobId);
          latencies.push(performance.now() - t0);
          peakRss = Math.max(peakRss, process.memoryUsage.rss());
          if (++n % 50 === 0) peakRegistry = Math.max(peakRegistry, (await stat(registryPath)).size);
          await sleep(2);
        }
      })();

      // Every status the host emits while under attack stays small (the report is bounded).
      let largestStatus = 0;
      const onProgress = (status: JobStatus) => {
        largestStatus = Math.max(largestStatus, JSON.stringify(status).length);
      };
      sup.on('job:progress', onProgress);

      const attackStarted = performance.now();
      const sessions = sup.sessions();
      await Promise.all(
        jobs.map((j) => {
          const session = sessions.find((s) => s.sessionId === j.sessionId)!;
          return writeFile(join(session.workspaceDir, 'go'), '');
        }),
      );
      const finals = await ended;
      const attackSeconds = (performance.now() - attackStarted) / 1000;
      sampling = false;
      await sampler;
      sup.off('job:progress', onProgress);

      const registryText = await readFile(registryPath, 'utf8');
      // Every job, as the next supervisor reads them (settled jobs are in files of their own).
      const registry = (await loadRegistry(statePaths(join(stack.dir, 'sessions'), join(stack.dir, 'ws'))))
        .state;
      const byKind = (kind: string) => finals.filter((_, i) => jobs[i]!.kind === kind);
      const figures = {
        attackSeconds: Math.round(attackSeconds * 10) / 10,
        totalSeconds: Math.round((performance.now() - began) / 100) / 10,
        baselineRssMiB: Math.round(baselineRss / MiB),
        rssGrowthMiB: Math.round((peakRss - baselineRss) / MiB),
        statusSamples: latencies.length,
        statusP50ms: Math.round(percentile(latencies, 50) * 100) / 100,
        statusP99ms: Math.round(percentile(latencies, 99) * 100) / 100,
        statusMaxMs: Math.round(Math.max(...latencies) * 100) / 100,
        registryBytes: Buffer.byteLength(registryText),
        registryPeakBytes: peakRegistry,
        largestStatusChars: largestStatus,
        outputSizes: finals.map((f) => f.outputSize),
      };
      console.log(`[hostile-output] ${JSON.stringify(figures)}`);
      // The host is up and answers.
      expect(sup.status(jobs[0]!.jobId).jobId).toBe(jobs[0]!.jobId);
      expect(peakRss - baselineRss).toBeLessThan(RSS_BOUND);
      expect(latencies.length).toBeGreaterThan(100);
      expect(percentile(latencies, 99)).toBeLessThan(STATUS_P99_MS);
      expect(figures.registryBytes).toBeLessThan(REGISTRY_BOUND);
      expect(peakRegistry).toBeLessThan(REGISTRY_BOUND);
      expect(largestStatus).toBeGreaterThan(0);
      expect(largestStatus).toBeLessThan(STATUS_BOUND);

      for (const final of finals) {
        const path = await findOutputFile(join(stack.dir, 'sessions'), final.jobId);
        const info = await stat(path);
        expect(info.size).toBe(final.outputSize);
        expect(info.size).toBeLessThanOrEqual(CAP + MARKER_BYTES);
        expect(info.mode & 0o777).toBe(0o600);
        expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700);
        expect(final.outputTruncated).toBe(true);
        expect(final.tailOutput).toMatch(
          /\[claude-pod\] output truncated: maxOutputSize \(10485760 bytes\) reached; further output dropped\n$/,
        );
        // Bounded whatever was printed: the report, the tail, the error.
        expect(JSON.stringify(final).length).toBeLessThan(STATUS_BOUND);
      }

      // The huge lines were cut, never parsed: Claude was killed, there is no result to report.
      // (Claude Code writes lines of its own around a tool run — system/task_started,
      // task_notification — and one that lands inside the attacker's bytes splits them in two.)
      for (const final of [...byKind('bigResult'), ...byKind('unterminated')]) {
        expect(final.status).toBe('failed');
        expect(final.errorCode).toBe(ErrorCodes.NO_RESULT);
        expect(final.claude.result).toBeNull();
        expect(findNumber(findJobRecord(registry, final.jobId), 'linesCut')).toBeGreaterThanOrEqual(1);
      }
      // 40 results of 1 MiB were parsed (within the line limit) but the cap kept most of them out
      // of the file; Claude's own result, past the cap too, is the job's report.
      const [many] = byKind('manyResults');
      expect(many!.status, many!.error ?? '').toBe('completed');
      expect(many!.claude.result).toBe('Done.');
      expect(findNumber(findJobRecord(registry, many!.jobId), 'linesCut')).toBe(0);
      const page = await sup.output(many!.jobId, { offset: 0, limit: 4096 });
      expect(page.content.startsWith('{"type":"system","subtype":"init"')).toBe(true);
      expect(await stack.containersLeft()).toEqual([]);
    }, 300_000);
  },
);
