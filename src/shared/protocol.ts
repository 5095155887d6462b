/**
 * The one message protocol between the supervisor (main thread) and a job worker. Both sides
 * import this file; every message is validated with these schemas where it crosses, and every
 * switch over `type` ends in `assertNever`, so a new message kind cannot be half-handled.
 */
import type { MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import { ErrorCodes } from './errors.js';

export const jobStates = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];
export const terminalStates: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export const activityStates = ['active', 'processing', 'idle'] as const;
export type ActivityState = (typeof activityStates)[number];

const serializedErrorSchema = z.object({
  code: z.enum(ErrorCodes),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const metricsSchema = z.object({
  cpuPercent: z.number(),
  memoryBytes: z.number(),
  memoryLimitBytes: z.number().nullable(),
  pids: z.number().nullable(),
  sampledAt: z.number(),
  source: z
    .enum(['cgroup', 'stats'])
    .describe("cgroup: read from the container's cgroup files; stats: the runtime's stats command"),
});
export type JobMetrics = z.infer<typeof metricsSchema>;

/** What Claude Code itself reported, from its `system/init` and `result` events. */
export const claudeReportSchema = z.object({
  sessionId: z.string().nullable(),
  model: z.string().nullable(),
  numTurns: z.number().nullable(),
  costUsd: z.number().nullable(),
  durationMs: z.number().nullable(),
  usage: z.record(z.string(), z.unknown()).nullable(),
  result: z.string().nullable(),
  resultSubtype: z.string().nullable(),
  isError: z.boolean().nullable(),
});
export type ClaudeReport = z.infer<typeof claudeReportSchema>;

export const emptyClaudeReport = (): ClaudeReport => ({
  sessionId: null,
  model: null,
  numTurns: null,
  costUsd: null,
  durationMs: null,
  usage: null,
  result: null,
  resultSubtype: null,
  isError: null,
});

/** The worker's running picture of a job; sent throttled, small and bounded in size. */
export const progressSchema = z.object({
  outputSize: z.number(),
  tailOutput: z.string(),
  firstOutputAt: z.number().nullable(),
  lastOutputAt: z.number().nullable(),
  lines: z.number(),
  /**
   * Lines longer than the job's maxLineBytes: written to the output as they came (within
   * maxOutputSize) but never held or parsed. Absent from workers that predate it.
   */
  linesCut: z.number().optional(),
  events: z.number(),
  truncated: z.boolean(),
  activityState: z.enum(activityStates),
  metrics: metricsSchema.nullable(),
  claude: claudeReportSchema,
});
export type JobProgress = z.infer<typeof progressSchema>;

export const outcomeSchema = z.object({
  status: z.enum(['completed', 'failed', 'cancelled', 'detached']),
  exitCode: z.number().nullable(),
  error: serializedErrorSchema.nullable(),
  progress: progressSchema,
  endedAt: z.number(),
});
export type JobOutcome = z.infer<typeof outcomeSchema>;

export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), jobId: z.string() }),
  z.object({ type: z.literal('started'), jobId: z.string(), containerName: z.string(), at: z.number() }),
  z.object({ type: z.literal('progress'), jobId: z.string(), progress: progressSchema }),
  z.object({ type: z.literal('ended'), jobId: z.string(), outcome: outcomeSchema }),
  z.object({ type: z.literal('error'), jobId: z.string(), error: serializedErrorSchema }),
  z.object({
    type: z.literal('log'),
    jobId: z.string(),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    msg: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;

export const supervisorMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cancel'), jobId: z.string() }),
  /** The supervisor is closing: stop following, leave the container running for a later attach. */
  z.object({ type: z.literal('detach'), jobId: z.string() }),
]);
export type SupervisorMessage = z.infer<typeof supervisorMessageSchema>;

/** How the worker reaches the container runtime. */
export const runtimeSpecSchema = z.object({
  kind: z.enum(['podman', 'docker']),
  command: z.string(),
  /** Global flags before the verb, e.g. `--runtime runc`. */
  globalArgs: z.array(z.string()),
});
export type RuntimeSpec = z.infer<typeof runtimeSpecSchema>;

export const jobSpecSchema = z.object({
  jobId: z.string(),
  sessionId: z.string(),
  /** `run` starts the container; `attach` follows one that a previous supervisor started. */
  mode: z.enum(['run', 'attach']),
  runtime: runtimeSpecSchema,
  containerName: z.string(),
  /** Arguments after the runtime's global flags for mode `run` (`run …image cmd…`). */
  runArgs: z.array(z.string()),
  outputPath: z.string(),
  maxOutputSize: z.number(),
  /** Longest stdout line the worker holds and parses (config `maxLineBytes`); absent: the default. */
  maxLineBytes: z.number().int().positive().optional(),
  startupTimeoutSeconds: z.number(),
  idleTimeoutSeconds: z.number(),
  metricsIntervalMs: z.number(),
  cancelGraceMs: z.number(),
  progressIntervalMs: z.number(),
  /** Inline mode for the benchmark's baseline only: the same code on the main thread. */
  image: z.string(),
});
export type JobSpec = z.infer<typeof jobSpecSchema>;

/** The piscina task: the spec plus the port the worker talks on (transferred). */
export interface JobTask {
  spec: JobSpec;
  port: MessagePort;
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`this should not happen: unexpected ${what} ${JSON.stringify(value)}`);
}
