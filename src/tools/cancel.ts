import { z } from 'zod';
import { defineTool } from './define.js';
import { json, okResult } from './result.js';
import { jobInSession } from './job-ref.js';
import { jobStatusSchema, jobRefParams } from './schemas.js';

export const cancelTool = defineTool({
  name: 'claude_code_cancel',
  label: 'Claude Code: cancel',
  description:
    'Cancel a pending or running Claude Code job and stop its container (Claude Code gets a moment to stop ' +
    'cleanly, then the container is killed). Returns the job status afterwards, normally "cancelled"; a job that ' +
    'had already ended is left as it was (cancelled: false). Output produced so far stays readable with ' +
    'claude_code_output, and the session can take a new job right away.',
  parameters: z
    .object({
      ...jobRefParams,
    })
    .strict(),
  details: z
    .object({
      ok: z.literal(true),
      cancelled: z.boolean().describe('Whether this call cancelled the job (false if it had already ended)'),
      status: jobStatusSchema.shape.status,
      job: jobStatusSchema,
    })
    .strict(),
  async run(supervisor, args) {
    const before = jobInSession(supervisor, args);
    const ended = before.status !== 'pending' && before.status !== 'running';
    const job = ended ? before : await supervisor.cancel(args.job_id);
    const cancelled = !ended && job.status === 'cancelled';
    const line = ended
      ? `Job ${job.jobId} is already ${job.status}, cannot cancel.`
      : cancelled
        ? `Job ${job.jobId} cancelled.`
        : `Job ${job.jobId} ended as ${job.status} before it could be cancelled.`;
    return okResult(`${line}\n${json(job)}`, { cancelled, status: job.status, job });
  },
});
