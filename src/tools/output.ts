import { z } from 'zod';
import { DEFAULT_READ_LIMIT, MAX_READ_LIMIT } from '../workers/output-reader.js';
import { defineTool } from './define.js';
import { okResult } from './result.js';
import { jobInSession } from './job-ref.js';
import { jobStatusSchema, jobRefParams } from './schemas.js';

export const outputTool = defineTool({
  name: 'claude_code_output',
  label: 'Claude Code: output',
  description:
    'Read the output of a Claude Code job, while it runs or after it ended, one page at a time. ' +
    `Returns up to limit bytes (default ${DEFAULT_READ_LIMIT}) starting at byte offset, with nextOffset, size and hasMore. ` +
    'To read everything, call again with offset = nextOffset while hasMore is true; to follow a running job, ' +
    'keep the last nextOffset and call again later (no sooner than claude_code_status suggests). ' +
    'For just the final answer, claude.result in claude_code_status is shorter.',
  parameters: z
    .object({
      ...jobRefParams,
      offset: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe('Byte offset to start reading from (default 0; use the previous nextOffset to continue)'),
      limit: z
        .number()
        .int()
        .min(1)
        .max(MAX_READ_LIMIT)
        .optional()
        .describe(`Maximum bytes to read (default ${DEFAULT_READ_LIMIT}, at most ${MAX_READ_LIMIT})`),
    })
    .strict(),
  details: z
    .object({
      ok: z.literal(true),
      jobId: z.string(),
      status: jobStatusSchema.shape.status,
      content: z.string(),
      offset: z.number(),
      nextOffset: z.number(),
      size: z.number(),
      hasMore: z.boolean(),
    })
    .strict(),
  async run(supervisor, args) {
    jobInSession(supervisor, args);
    const page = await supervisor.output(args.job_id, {
      ...(args.offset === undefined ? {} : { offset: args.offset }),
      ...(args.limit === undefined ? {} : { limit: args.limit }),
    });
    // The seed's header line, then the page itself.
    const header =
      `[job: ${page.jobId}] [status: ${page.status}] [bytes ${page.offset}-${page.nextOffset} of ${page.size}]` +
      (page.hasMore ? ` [more available: next offset ${page.nextOffset}]` : '');
    return okResult(`${header}\n\n${page.content}`, {
      jobId: page.jobId,
      status: page.status,
      content: page.content,
      offset: page.offset,
      nextOffset: page.nextOffset,
      size: page.size,
      hasMore: page.hasMore,
    });
  },
});
