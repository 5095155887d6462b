/**
 * The one place tool results and tool errors are shaped. OpenClaw grades a tool call from the
 * top-level keys of `details` (`ok`, `success`, `status`, `error`, `timedOut`, `exitCode`), so:
 *  - every successful result carries `ok: true` — a *job* that failed or was cancelled is still a
 *    successful status query;
 *  - a job's own `error` and `exitCode` never sit at the top level of `details` (they would mark
 *    the call failed even with `ok: true`); they live under `job`;
 *  - a failed call carries `ok: false` and `error: {code, message, hint}` and never a stack trace.
 * The model reads `content` (the seed plugin's text and JSON shapes); `details` is the structured
 * value described by each tool's `outputSchema`.
 */
import { z } from 'zod';
import { ErrorCodes, isClaudePodError, type ErrorCode } from '../shared/errors.js';
import { imageFix } from './image-hint.js';

export interface TextContent {
  type: 'text';
  text: string;
}

export interface ToolResult<D> {
  content: TextContent[];
  details: D;
}

export const toolErrorSchema = z
  .object({
    ok: z.literal(false),
    error: z.object({
      code: z.string().describe('Stable error code, e.g. INVALID_ARGUMENT, JOB_NOT_FOUND, IMAGE_NOT_FOUND'),
      message: z.string(),
      hint: z.string().describe('What to do about it'),
    }),
  })
  .strict();
export type ToolErrorDetails = z.infer<typeof toolErrorSchema>;

/** A successful result: `ok: true` plus the tool's fields. */
export function okResult<D extends Record<string, unknown>>(
  text: string,
  details: D,
): ToolResult<{ ok: true } & D> {
  return { content: [{ type: 'text', text }], details: { ok: true, ...details } };
}

/** The hint an agent gets with each error code: what to change before calling again. */
const hints: Partial<Record<ErrorCode, string>> = {
  [ErrorCodes.INVALID_ARGUMENT]: 'Fix the arguments as described and call the tool again.',
  [ErrorCodes.INVALID_SESSION_ID]:
    'Pass a session_id returned by claude_code_start or claude_code_sessions, or omit it to start a new session.',
  [ErrorCodes.JOB_NOT_FOUND]:
    'Use a job_id returned by claude_code_start; claude_code_sessions lists sessions and their active jobs. Jobs of cleaned-up sessions are gone.',
  [ErrorCodes.SESSION_NOT_FOUND]: 'Call claude_code_sessions to see the sessions that exist.',
  [ErrorCodes.SESSION_BUSY]:
    'Wait for the running job (claude_code_status, or the completion notification) or cancel it with claude_code_cancel, then start again; or omit session_id to work in a new session.',
  [ErrorCodes.QUEUE_FULL]: 'Too many jobs are waiting. Wait for some to finish before starting more.',
  [ErrorCodes.SUPERVISOR_CLOSED]: 'The plugin is shutting down; try again after the gateway restarts.',
  [ErrorCodes.RUNTIME_MISSING]:
    'The container runtime is not installed on the gateway host. Ask the operator to run `claude-pod setup`.',
  [ErrorCodes.RUNTIME_FAILED]: 'The container runtime failed. Ask the operator to run `claude-pod doctor`.',
  [ErrorCodes.IMAGE_NOT_FOUND]:
    'The container image is missing on the gateway host. Ask the operator to run `claude-pod setup` (or pull the configured image).',
  [ErrorCodes.NO_AUTH]:
    'The gateway host has no Anthropic credentials. Ask the operator to set ANTHROPIC_API_KEY for the gateway or log in with Claude Code.',
  [ErrorCodes.INVALID_CONFIG]:
    'The plugin configuration in openclaw.json is invalid. Ask the operator to fix plugins.entries["claude-code"].config.',
};

const GENERIC_HINT =
  'This is not caused by the arguments. Retrying later may help; otherwise report it to the operator.';

/** The hint for an error: for a missing image, the fix that works for the image configured. */
function hintFor(error: unknown, code: string): string {
  const image = isClaudePodError(error) ? error.details?.image : undefined;
  if (code === ErrorCodes.IMAGE_NOT_FOUND && typeof image === 'string') {
    return `The container image ${image} is missing on the gateway host. Ask the operator to fix it: ${imageFix(image, 'gateway')}.`;
  }
  return hints[code as ErrorCode] ?? GENERIC_HINT;
}

/** A failed call: what went wrong and what to change. Never a stack trace. */
export function errorResult(error: unknown): ToolResult<ToolErrorDetails> {
  const code: string = isClaudePodError(error) ? error.code : ErrorCodes.INTERNAL;
  const message = isClaudePodError(error)
    ? error.message
    : `Internal error: ${error instanceof Error ? error.message : String(error)}`;
  const hint = hintFor(error, code);
  return {
    content: [{ type: 'text', text: `Error [${code}]: ${message}\n${hint}` }],
    details: { ok: false, error: { code, message, hint } },
  };
}

/** JSON for the model: stable key order (as built), two-space indent like the seed. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
