/**
 * Zod schemas shared by the tools: the parameters several tools take, and the job/session
 * shapes their `details` carry. The type checks at the bottom keep these in step with the
 * supervisor's `JobStatus` and `SessionInfo`.
 */
import { z } from 'zod';
import {
  activityStates,
  claudeReportSchema,
  jobStates,
  metricsSchema as protocolMetricsSchema,
} from '../shared/protocol.js';
import { ErrorCodes } from '../shared/errors.js';
import type { JobStatus } from '../supervisor/job-view.js';
import type { SessionInfo } from '../supervisor/session-view.js';
import { MAX_SESSION_ID_LENGTH } from '../supervisor/session-ids.js';

export const jobIdParam = z
  .string()
  .min(1)
  .max(128)
  .describe('The job ID returned by claude_code_start (e.g. "job-m3x1k2-4f9a0c1b2d")');

export const sessionIdParam = z
  .string()
  .min(1)
  .max(MAX_SESSION_ID_LENGTH)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only')
  .describe(
    'Session ID returned by claude_code_start; optional: the job is found without it, and a job of another session is refused',
  );

/** The parameters naming one job, as the seed's status/output/cancel tools take them. */
export const jobRefParams = { job_id: jobIdParam, session_id: sessionIdParam.optional() };

/** The worker's metrics as they are, closed to other keys. */
const metricsSchema = protocolMetricsSchema.strict();

/** What Claude reported, without the two fields only the supervisor uses (resultSubtype, isError). */
const claudeSchema = claudeReportSchema
  .pick({ sessionId: true, model: true, numTurns: true, costUsd: true, durationMs: true, usage: true })
  .extend({
    result: claudeReportSchema.shape.result.describe(
      "Claude Code's final answer, once the job has completed",
    ),
  })
  .strict();

export const jobStatusSchema = z
  .object({
    jobId: z.string(),
    sessionId: z.string(),
    status: z.enum(jobStates),
    elapsedSeconds: z.number(),
    outputSize: z.number().describe('Total output size in bytes'),
    tailOutput: z.string().describe('Last ~500 characters of output'),
    lastOutputSecondsAgo: z.number().nullable(),
    activityState: z.enum(activityStates),
    metrics: metricsSchema.nullable(),
    exitCode: z.number().nullable(),
    error: z.string().nullable(),
    errorCode: z.enum(ErrorCodes).nullable(),
    outputTruncated: z.boolean(),
    linesCut: z.number().describe('Lines longer than maxLineBytes: kept in the output, never parsed'),
    engine: z
      .string()
      .describe('The engine the job runs on (config engines[].name; "local" without engines)'),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    claude: claudeSchema,
  })
  .strict();

export const sessionInfoSchema = z
  .object({
    sessionId: z.string(),
    ageSeconds: z.number(),
    lastActivitySecondsAgo: z.number(),
    messageCount: z.number(),
    activeJob: z.object({ jobId: z.string(), status: z.string() }).strict().nullable(),
    claudeSessionId: z.string().nullable(),
    workspaceDir: z.string(),
    createdAt: z.string(),
    lastActivityAt: z.string(),
  })
  .strict();

/** Seconds an agent should wait before polling a job again (the notification makes polling optional). */
export function pollAfterSeconds(job: Pick<JobStatus, 'status' | 'elapsedSeconds'>): number | null {
  if (job.status !== 'pending' && job.status !== 'running') return null;
  return Math.min(120, Math.max(15, Math.round(job.elapsedSeconds / 2)));
}

// Compile-time drift checks, both directions.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const jobStatusInSync: Same<z.infer<typeof jobStatusSchema>, JobStatus> = true;
const sessionInfoInSync: Same<z.infer<typeof sessionInfoSchema>, SessionInfo> = true;
void jobStatusInSync;
void sessionInfoInSync;
