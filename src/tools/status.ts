import { z } from 'zod';
import { defineTool } from './define.js';
import { json, okResult } from './result.js';
import { jobInSession } from './job-ref.js';
import { jobStatusSchema, pollAfterSeconds, jobRefParams } from './schemas.js';

export const statusTool = defineTool({
  name: 'claude_code_status',
  label: 'Claude Code: status',
  description:
    'Check a Claude Code job started with claude_code_start. Returns status (pending, running, completed, failed, ' +
    'cancelled), elapsedSeconds, outputSize, tailOutput (last ~500 characters), lastOutputSecondsAgo, ' +
    'activityState (active = producing output, processing = busy without output, idle), metrics (CPU, memory), ' +
    'exitCode and error when it ended, and pollAfterSeconds while it runs. ' +
    'If claude_code_start said a notification will arrive, prefer waiting for it; when you do poll, wait at least ' +
    'pollAfterSeconds between calls. A failed or cancelled job is a normal answer here, not a tool failure.',
  parameters: z
    .object({
      ...jobRefParams,
    })
    .strict(),
  details: z
    .object({
      ok: z.literal(true),
      status: jobStatusSchema.shape.status,
      pollAfterSeconds: z.number().nullable(),
      job: jobStatusSchema.describe('The full job status (its exitCode and error live here)'),
    })
    .strict(),
  async run(supervisor, args) {
    const job = jobInSession(supervisor, args);
    const poll = pollAfterSeconds(job);
    const text = json(poll === null ? job : { ...job, pollAfterSeconds: poll });
    return okResult(text, { status: job.status, pollAfterSeconds: poll, job });
  },
});
