/**
 * The seed plugin's design as a benchmark baseline (openclaw-plugin-claude-code: its
 * `watchJobCompletion` follows the container's output on the gateway's own thread): every chunk
 * decoded to a string, split into lines, every line `JSON.parse`d, and kept in an in-memory
 * buffer. It speaks the job protocol to the same supervisor (ready, launched, started, progress
 * every 250 ms, ended), so only where and how the output is handled differs.
 *
 * Two departures, both in the seed's favour or neutral: a StringDecoder (the seed's per-chunk
 * `toString()` corrupts a character cut between chunks, and then the bytes could not be compared),
 * and the buffer is written to the job's output file once at the end (the seed appends extracted
 * text fire-and-forget), so every job's bytes can be checked like the other designs'.
 */
import { writeFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createEngine } from '../src/runtime/create-engine.js';
import {
  emptyClaudeReport,
  type JobOutcome,
  type JobProgress,
  type JobSpec,
  type SupervisorMessage,
  type WorkerMessage,
} from '../src/shared/protocol.js';
import type { JobPoolLike, SubmittedJob } from '../src/supervisor/pool.js';

const PROGRESS_MS = 250;
const TAIL_CHARS = 500;

export class SeedJobPool implements JobPoolLike {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly size: number) {}

  submit(spec: JobSpec, onMessage: (message: unknown) => void, signal: AbortSignal): SubmittedJob {
    let launch: () => void = () => undefined;
    const launched = new Promise<void>((resolve) => (launch = resolve));
    const done = new Promise<JobOutcome>((resolve, reject) => {
      const begin = () => {
        if (signal.aborted) {
          reject(new Error('aborted'));
          this.next();
          return;
        }
        this.running++;
        runSeedJob(spec, (m) => onMessage(m), launched)
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.next();
          });
      };
      signal.addEventListener('abort', () => {
        const at = this.queue.indexOf(begin);
        if (at >= 0) this.queue.splice(at, 1);
        reject(new Error('aborted'));
      });
      if (this.running < this.size) setImmediate(begin);
      else this.queue.push(begin);
    });
    const send = (message: SupervisorMessage) => {
      if (message.type === 'launch') launch();
    };
    return { done, send };
  }

  private next(): void {
    if (this.running < this.size) this.queue.shift()?.();
  }

  get queueSize(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.queue.length = 0;
  }
}

async function runSeedJob(
  spec: JobSpec,
  post: (message: WorkerMessage) => void,
  launched: Promise<void>,
): Promise<JobOutcome> {
  const { jobId } = spec;
  post({ type: 'ready', jobId });
  await launched;
  post({ type: 'launched', jobId, at: Date.now() });
  const engine = createEngine(spec.runtime);
  const stream = engine.run(spec.container!);
  // The seed marks a job running once its container was started.
  post({ type: 'started', jobId, at: Date.now() });
  const decoder = new StringDecoder('utf8');
  const buffer: string[] = [];
  let lineBuffer = '';
  let outputSize = 0;
  let lines = 0;
  let events = 0;
  let firstOutputAt: number | null = null;
  let lastOutputAt: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  const progress = (): JobProgress => ({
    outputSize,
    tailOutput: buffer.slice(-8).join('\n').slice(-TAIL_CHARS),
    firstOutputAt,
    lastOutputAt,
    lines,
    events,
    truncated: false,
    activityState: 'active',
    metrics: null,
    claude: emptyClaudeReport(),
  });
  const onLine = (line: string) => {
    if (!line.trim()) return;
    lines++;
    try {
      JSON.parse(line);
      events++;
    } catch {
      // not JSON
    }
    buffer.push(line);
    outputSize += Buffer.byteLength(line) + 1;
  };
  stream.stdout.on('data', (chunk: Buffer) => {
    const now = Date.now();
    firstOutputAt ??= now;
    lastOutputAt = now;
    lineBuffer += decoder.write(chunk);
    const parts = lineBuffer.split('\n');
    lineBuffer = parts.pop() ?? '';
    for (const line of parts) onLine(line);
    timer ??= setTimeout(() => {
      timer = null;
      post({ type: 'progress', jobId, progress: progress() });
    }, PROGRESS_MS);
  });
  const end = await stream.done;
  onLine(lineBuffer + decoder.end());
  if (timer) clearTimeout(timer);
  writeFileSync(spec.outputPath, buffer.length ? `${buffer.join('\n')}\n` : '');
  await engine.remove(spec.containerName).catch(() => undefined);
  const outcome: JobOutcome = {
    status: end.exitCode === 0 ? 'completed' : 'failed',
    exitCode: end.exitCode,
    error: null,
    progress: progress(),
    endedAt: Date.now(),
  };
  post({ type: 'ended', jobId, outcome });
  return outcome;
}
