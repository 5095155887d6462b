import { DEFAULT_ENGINE } from '../shared/engine-config.js';
import type { SerializedError } from '../shared/errors.js';
import type { ActivityState, JobMetrics, JobState } from '../shared/protocol.js';
import { activityOf } from '../workers/job-runner.js';
import type { JobRecord } from './records.js';

/** What `status()` returns: the seed's fields first, then what Claude reported. */
export interface JobStatus {
  jobId: string;
  sessionId: string;
  status: JobState;
  elapsedSeconds: number;
  outputSize: number;
  tailOutput: string;
  lastOutputSecondsAgo: number | null;
  activityState: ActivityState;
  metrics: JobMetrics | null;
  exitCode: number | null;
  error: string | null;
  errorCode: SerializedError['code'] | null;
  outputTruncated: boolean;
  /** Lines longer than maxLineBytes: written to the output as they came, never parsed. */
  linesCut: number;
  /** The engine (config `engines[].name`) the job was placed on; `local` without `engines`. */
  engine: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  claude: {
    sessionId: string | null;
    model: string | null;
    numTurns: number | null;
    costUsd: number | null;
    durationMs: number | null;
    usage: Record<string, unknown> | null;
    result: string | null;
  };
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const seconds = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);

export function jobStatusView(job: JobRecord, now: number): JobStatus {
  const p = job.progress;
  const running = job.status === 'running';
  // An ended job's clock stops at its end: nothing about it keeps ageing.
  const end = job.endedAt ?? now;
  const start = job.startedAt ?? job.createdAt;
  return {
    jobId: job.jobId,
    sessionId: job.sessionId,
    status: job.status,
    elapsedSeconds: seconds((job.status === 'pending' ? now : end) - start),
    outputSize: p.outputSize,
    tailOutput: p.tailOutput,
    lastOutputSecondsAgo: p.lastOutputAt === null ? null : seconds(end - p.lastOutputAt),
    activityState: running ? activityOf(p.lastOutputAt, p.metrics, now) : 'idle',
    metrics: p.metrics,
    exitCode: job.exitCode,
    error: job.error?.message ?? null,
    errorCode: job.error?.code ?? null,
    outputTruncated: p.truncated,
    linesCut: p.linesCut ?? 0,
    engine: job.engine ?? DEFAULT_ENGINE,
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: iso(job.startedAt),
    endedAt: iso(job.endedAt),
    claude: {
      sessionId: p.claude.sessionId,
      model: p.claude.model,
      numTurns: p.claude.numTurns,
      costUsd: p.claude.costUsd,
      durationMs: p.claude.durationMs,
      usage: p.claude.usage,
      result: p.claude.result,
    },
  };
}
