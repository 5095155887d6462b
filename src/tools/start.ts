import { z } from 'zod';
import { MAX_PROMPT_BYTES } from '../supervisor/supervisor.js';
import { defineTool } from './define.js';
import { json, okResult } from './result.js';
import { jobStatusSchema, pollAfterSeconds, sessionIdParam } from './schemas.js';

export const startTool = defineTool({
  name: 'claude_code_start',
  label: 'Claude Code: start',
  description:
    'Start a Claude Code task in the background, in an isolated container with its own workspace. ' +
    'Use it to delegate coding work (writing or changing code, running tests, investigating a repository). ' +
    'Returns immediately with { jobId, sessionId }; the job runs for seconds to many minutes. ' +
    "The result says whether a notification message will arrive when the job ends (the gateway's hooks must be " +
    'enabled); without one, call claude_code_status no more often than its pollAfterSeconds suggests. ' +
    'Read the result with claude_code_output. Pass session_id to continue an earlier session ' +
    '(same workspace and conversation); one job runs per session at a time.',
  parameters: z
    .object({
      prompt: z
        .string()
        .min(1, 'must not be empty')
        .max(MAX_PROMPT_BYTES, `must be at most ${MAX_PROMPT_BYTES} bytes`)
        .describe('The task or prompt for Claude Code: say what to do and what "done" means'),
      session_id: sessionIdParam
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only')
        .describe(
          'Optional: a session ID from an earlier claude_code_start to continue that session; omit to start a new one',
        )
        .optional(),
    })
    .strict(),
  details: z
    .object({
      ok: z.literal(true),
      jobId: z.string(),
      sessionId: z.string(),
      status: jobStatusSchema.shape.status,
      pollAfterSeconds: z.number().nullable(),
      notifies: z
        .boolean()
        .describe('Whether a notification message arrives when the job ends (else poll claude_code_status)'),
    })
    .strict(),
  async run(supervisor, args) {
    const { jobId, sessionId } = await supervisor.start({
      prompt: args.prompt,
      ...(args.session_id === undefined ? {} : { sessionId: args.session_id }),
    });
    const job = supervisor.status(jobId);
    const poll = pollAfterSeconds(job);
    const notified = supervisor.info().notifications.enabled;
    const text = json({
      jobId,
      sessionId,
      status: job.status,
      message: notified
        ? 'Job started. A notification arrives when it ends; meanwhile claude_code_status shows progress ' +
          'and claude_code_output reads what it has produced.'
        : 'Job started. No notification will arrive when it ends (notifications are off on this gateway): ' +
          `check claude_code_status${poll === null ? '' : ` in about ${poll} seconds`} and read the result with claude_code_output.`,
    });
    return okResult(text, {
      jobId,
      sessionId,
      status: job.status,
      pollAfterSeconds: poll,
      notifies: notified,
    });
  },
});
