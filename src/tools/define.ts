/**
 * A claude-pod tool: a name, an LLM-facing description, zod schemas for its parameters and its
 * `details`, and a thin `run` over the supervisor. `toAgentTool` turns one into the object
 * OpenClaw's `api.registerTool` takes (JSON Schemas from `z.toJSONSchema`), validating arguments
 * itself — the gateway does not validate them against `parameters`.
 */
import { z } from 'zod';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import type { SupervisorApi } from '../supervisor/api.js';
import { validateSessionId } from '../supervisor/session-ids.js';
import { errorResult, toolErrorSchema, type TextContent, type ToolResult } from './result.js';

/**
 * The part of the supervisor the tools use (a fake in unit tests): picked from the interface an
 * owner of the state directory and a client of one both offer.
 */
export type ToolSupervisor = Pick<
  SupervisorApi,
  'start' | 'status' | 'output' | 'cancel' | 'cleanup' | 'sessions' | 'info'
>;

export interface ToolSpec<P extends z.ZodObject = z.ZodObject, D extends z.ZodObject = z.ZodObject> {
  name: string;
  label: string;
  description: string;
  parameters: P;
  /** The successful `details`; the published outputSchema also admits the error shape. */
  details: D;
  run(supervisor: ToolSupervisor, args: z.output<P>): Promise<ToolResult<z.output<D>>>;
}

export function defineTool<P extends z.ZodObject, D extends z.ZodObject>(
  spec: ToolSpec<P, D>,
): ToolSpec<P, D> {
  return spec;
}

/** The shape OpenClaw's `registerTool` accepts (declared locally: the library never imports openclaw). */
export interface AgentToolLike {
  name: string;
  label: string;
  description: string;
  parameters: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  execute(
    toolCallId: string,
    params: unknown,
    signal?: AbortSignal,
  ): Promise<{ content: TextContent[]; details: unknown }>;
}

export function parametersJsonSchema(spec: ToolSpec): Record<string, unknown> {
  return withoutMeta(z.toJSONSchema(spec.parameters, { io: 'input' }) as Record<string, unknown>);
}

/** Every `details` a call can return: the tool's success shape or the shared error shape. */
export function outputJsonSchema(spec: ToolSpec): Record<string, unknown> {
  return withoutMeta(
    z.toJSONSchema(z.union([spec.details, toolErrorSchema]), { io: 'output' }) as Record<string, unknown>,
  );
}

/** `$schema` adds nothing for a tool schema and some providers reject unknown top-level keys. */
function withoutMeta(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

export function toAgentTool(spec: ToolSpec, getSupervisor: () => Promise<ToolSupervisor>): AgentToolLike {
  return {
    name: spec.name,
    label: spec.label,
    description: spec.description,
    parameters: parametersJsonSchema(spec),
    outputSchema: outputJsonSchema(spec),
    execute: (_toolCallId, params) => runTool(spec, getSupervisor, params),
  };
}

/** Validate, run, and turn any failure into a tool error result (never a throw, never a stack). */
export async function runTool(
  spec: ToolSpec,
  getSupervisor: () => Promise<ToolSupervisor>,
  params: unknown,
): Promise<ToolResult<unknown>> {
  try {
    const args = parseArgs(spec, params);
    return await spec.run(await getSupervisor(), args);
  } catch (error) {
    return errorResult(error);
  }
}

export function parseArgs<P extends z.ZodObject>(spec: ToolSpec<P>, params: unknown): z.output<P> {
  // A bad session id is the library's INVALID_SESSION_ID, with the library's words, whichever
  // door it came in by (the tools, the CLI or createSupervisor): the same mistake, the same code.
  const sessionId = (params as Record<string, unknown> | null)?.session_id;
  if (sessionId !== undefined && 'session_id' in spec.parameters.shape) validateSessionId(sessionId);
  const result = spec.parameters.safeParse(params ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => describeIssue(spec, issue));
  throw new ClaudePodError(
    ErrorCodes.INVALID_ARGUMENT,
    `Invalid arguments for ${spec.name}: ${problems.join('; ')}`,
    {
      details: { issues: problems },
    },
  );
}

function describeIssue(spec: ToolSpec, issue: z.core.$ZodIssue): string {
  const known = Object.keys(spec.parameters.shape);
  if (issue.code === 'unrecognized_keys') {
    const list = issue.keys.map((k) => `"${k}"`).join(', ');
    return `unknown parameter${issue.keys.length > 1 ? 's' : ''} ${list} (${spec.name} takes ${
      known.length ? known.map((k) => `"${k}"`).join(', ') : 'no parameters'
    })`;
  }
  const key = issue.path.join('.');
  if (!key) return `expected an object of parameters (${issue.message})`;
  const field = spec.parameters.shape[String(issue.path[0])] as z.ZodType | undefined;
  const about = field?.description ? ` — ${field.description}` : '';
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return `"${key}" is required${about}`;
  }
  return `"${key}": ${issue.message.replace(/^Invalid input: /, '')}${about}`;
}
