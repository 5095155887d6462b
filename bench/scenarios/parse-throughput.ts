/**
 * Parse throughput of one job's worker against the physical limit the issue names: a bare
 * `JSON.parse` loop over the same lines (already decoded strings, each parsed once, nothing else
 * done). `decode + JSON.parse` starts from bytes as a pipe delivers them: UTF-8 decoding of this
 * recording (9% non-ASCII bytes, e.g. the `→` of file listings) costs more than parsing it, so a
 * worker that parsed every line could never reach half the limit. The worker does not: it
 * passes the bytes through and parses only system and result lines (stream-ingest.ts). The
 * ingest alone (64 KiB chunks, output to /dev/null) and the production path end to end — a
 * piscina worker running JobRunner on `cat` of the stream (pipe reads, line splitting, the
 * Claude report, writing the output file), timed from its first to its last stdout chunk — are
 * both measured.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import type { JobOutcome, JobSpec } from '../../src/shared/protocol.js';
import { OutputStore } from '../../src/workers/output-store.js';
import { StreamIngest } from '../../src/workers/stream-ingest.js';
import { fileURLToPath } from 'node:url';
import type { Impl } from '../impl.js';
import { MiB, median, round } from '../stats.js';

export interface ParseThroughputResult {
  streamBytes: number;
  lines: number;
  /** MiB/s, median of `repeats`. */
  bareJsonParseMiBps: number;
  decodeAndJsonParseMiBps: number;
  /** StreamIngest alone (no pipe, output to /dev/null). */
  ingestMiBps: number;
  /** Lines StreamIngest decoded and parsed, of all lines (the rest passed through). */
  parsedLineShare: number;
  workerPipelineMiBps: number;
  /** workerPipeline / bareJsonParse. */
  workerShareOfBare: number;
  repeats: number;
  runs: { bare: number[]; decode: number[]; ingest: number[]; worker: number[] };
}

export async function runParseThroughput(
  impl: Impl,
  opts: { stream: string; bytes: number; repeats: number },
): Promise<ParseThroughputResult> {
  const recording = await readFile(opts.stream);
  const bounds = lineBounds(recording);
  const copies = Math.max(1, Math.round(opts.bytes / recording.length));
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-bench-parse-'));
  try {
    const file = join(dir, 'stream.jsonl');
    const out = createWriteStream(file);
    for (let i = 0; i < copies; i++) if (!out.write(recording)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    const streamBytes = copies * recording.length;

    const runs = {
      bare: [] as number[],
      decode: [] as number[],
      ingest: [] as number[],
      worker: [] as number[],
    };
    let parsedShare = 0;
    for (let r = 0; r < opts.repeats; r++) {
      runs.bare.push(bareJsonParse(recording, bounds, copies));
      runs.decode.push(decodeAndParse(recording, bounds, copies));
      const ingest = ingestOnly(recording, copies);
      runs.ingest.push(ingest.mibps);
      parsedShare = ingest.parsedLines / ingest.lines;
      runs.worker.push(await workerPipeline(impl, file, join(dir, `out-${r}.jsonl`), streamBytes));
    }
    const bare = median(runs.bare);
    const worker = median(runs.worker);
    return {
      streamBytes,
      lines: bounds.length * copies,
      bareJsonParseMiBps: round(bare, 1),
      decodeAndJsonParseMiBps: round(median(runs.decode), 1),
      ingestMiBps: round(median(runs.ingest), 1),
      parsedLineShare: round(parsedShare, 4),
      workerPipelineMiBps: round(worker, 1),
      workerShareOfBare: round(worker / bare, 2),
      repeats: opts.repeats,
      runs: {
        bare: runs.bare.map((v) => round(v, 1)),
        decode: runs.decode.map((v) => round(v, 1)),
        ingest: runs.ingest.map((v) => round(v, 1)),
        worker: runs.worker.map((v) => round(v, 1)),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Bounds = Array<[number, number]>;

function lineBounds(recording: Buffer): Bounds {
  const bounds: Bounds = [];
  for (let start = 0; start < recording.length;) {
    let nl = recording.indexOf(0x0a, start);
    if (nl === -1) nl = recording.length;
    if (nl > start) bounds.push([start, nl]);
    start = nl + 1;
  }
  return bounds;
}

/** Decoded strings ready in memory are capped at this much source (the parse then repeats over them). */
const BARE_MAX_BYTES = 64 * MiB;

/**
 * JSON.parse over the lines as ready strings, each string parsed once (V8 parses a string it has
 * parsed before faster, which would flatter the limit): no I/O, no decoding, no splitting.
 */
function bareJsonParse(recording: Buffer, bounds: Bounds, copies: number): number {
  const distinct = Math.max(1, Math.min(copies, Math.floor(BARE_MAX_BYTES / recording.length)));
  let seconds = 0;
  let keys = 0;
  for (let done = 0; done < copies; done += distinct) {
    const n = Math.min(distinct, copies - done);
    const lines: string[] = [];
    for (let c = 0; c < n; c++) for (const [a, b] of bounds) lines.push(recording.toString('utf8', a, b));
    const t0 = performance.now();
    for (const line of lines) keys += Object.keys(JSON.parse(line) as object).length;
    seconds += (performance.now() - t0) / 1000;
  }
  if (keys < 0) console.log(keys);
  return (copies * recording.length) / MiB / seconds;
}

/** From bytes: UTF-8 decode of each line, then JSON.parse. */
function decodeAndParse(recording: Buffer, bounds: Bounds, copies: number): number {
  let keys = 0;
  const t0 = performance.now();
  for (let c = 0; c < copies; c++) {
    for (const [a, b] of bounds)
      keys += Object.keys(JSON.parse(recording.toString('utf8', a, b)) as object).length;
  }
  const s = (performance.now() - t0) / 1000;
  if (keys < 0) console.log(keys);
  return (copies * recording.length) / MiB / s;
}

/**
 * The worker's ingest alone (split, pass through, parse what the report needs) on 64 KiB chunks
 * of the same bytes, writing to /dev/null; also how many lines it parsed.
 */
function ingestOnly(
  recording: Buffer,
  copies: number,
): { mibps: number; parsedLines: number; lines: number } {
  const store = OutputStore.open('/dev/null', { maxOutputSize: 0 });
  const ingest = new StreamIngest(store);
  const CHUNK = 64 * 1024;
  const t0 = performance.now();
  for (let c = 0; c < copies; c++) {
    for (let i = 0; i < recording.length; i += CHUNK) ingest.push(recording.subarray(i, i + CHUNK));
  }
  ingest.end();
  const s = (performance.now() - t0) / 1000;
  store.close();
  return { mibps: (copies * recording.length) / MiB / s, parsedLines: ingest.parsed, lines: ingest.lines };
}

const CAT_RUNTIME = fileURLToPath(new URL('../load-generator/cat-runtime.sh', import.meta.url));

/** A real piscina worker running JobRunner, its "runtime" `cat` printing the stream. */
async function workerPipeline(impl: Impl, file: string, outputPath: string, bytes: number): Promise<number> {
  const pool = new impl.JobPool(1);
  try {
    const spec: JobSpec = {
      jobId: 'job-bench-parse',
      sessionId: 'sess-bench-parse',
      mode: 'run',
      // A "runtime" whose `run` prints the recording and whose `inspect` finds nothing.
      runtime: { kind: 'podman', command: CAT_RUNTIME, globalArgs: [file] },
      containerName: 'bench-parse',
      container: {
        name: 'bench-parse',
        image: 'bench',
        labels: {},
        memory: '1g',
        cpus: '1',
        pidsLimit: 64,
        tmpfsSize: '1m',
        network: 'none',
        apparmorProfile: '',
        user: '1000:1000',
        mounts: [],
        env: {},
        secretEnv: {},
        workdir: '/',
        command: [],
      },
      outputPath,
      maxOutputSize: 0,
      startupTimeoutSeconds: 60,
      idleTimeoutSeconds: 60,
      metricsIntervalMs: 3_600_000,
      cancelGraceMs: 1000,
      progressIntervalMs: 250,
      image: 'bench',
    };
    const handle = pool.submit(
      spec,
      (m) => {
        if ((m as { type?: string }).type === 'ready') handle.send({ type: 'launch', jobId: spec.jobId });
      },
      new AbortController().signal,
    );
    const outcome: JobOutcome = await handle.done;
    const { firstOutputAt, lastOutputAt, outputSize } = outcome.progress;
    if (outputSize !== bytes) throw new Error(`worker pipeline wrote ${outputSize} B, expected ${bytes}`);
    if (firstOutputAt === null || lastOutputAt === null || lastOutputAt <= firstOutputAt) {
      throw new Error('worker pipeline: no output timing');
    }
    return bytes / MiB / ((lastOutputAt - firstOutputAt) / 1000);
  } finally {
    await pool.close();
  }
}
