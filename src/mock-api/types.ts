/**
 * Shapes shared by the mock Messages API: what arrives (a Messages request, loosely validated),
 * what a scenario answers (a `MockReply`), and what the server records.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

const contentBlockSchema = z.looseObject({ type: z.string() });

export const messagesRequestSchema = z.looseObject({
  model: z.string(),
  // The CLI also sends `role: "system"` turns inside `messages` (mid-conversation system context).
  messages: z.array(
    z.looseObject({
      role: z.string(),
      content: z.union([z.string(), z.array(contentBlockSchema)]),
    }),
  ),
  system: z.union([z.string(), z.array(contentBlockSchema)]).optional(),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
  max_tokens: z.number().optional(),
  stream: z.boolean().optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type ApiMessage = MessagesRequest['messages'][number];
export type ContentBlock = z.infer<typeof contentBlockSchema>;

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';

export type ReplyBlock =
  | {
      type: 'text';
      text: string;
      /** How the text is split into deltas; default: small word groups. */ chunks?: string[];
    }
  | { type: 'tool_use'; name: string; input: Record<string, unknown> };

/** Timing of a streamed reply. Every wait is cut short when the client goes away or the mock closes. */
export interface Pacing {
  /** Wait before sending the response headers at all. */
  headersDelayMs?: number;
  /** Silence after `message_start` (headers and the first event already sent). */
  stallMs?: number;
  /** Wait before each `content_block_delta`. */
  deltaDelayMs?: number;
  /** Destroy the connection after this many SSE events (a stream dropped mid-way). */
  dropAfterEvents?: number;
}

export interface MessageReply {
  kind: 'message';
  blocks: ReplyBlock[];
  /** Default: `tool_use` when a block is a tool_use, else `end_turn`. */
  stopReason?: StopReason;
  pacing?: Pacing;
}

export interface ErrorReply {
  kind: 'error';
  status: number;
  /** Anthropic error type, e.g. `overloaded_error`; default derived from the status. */
  errorType?: string;
  message?: string;
  /** Sent as the `x-should-retry` header when set. */
  shouldRetry?: boolean;
}

export type MockReply = MessageReply | ErrorReply;

export interface ToolResultInfo {
  toolUseId: string;
  isError: boolean;
  /** The result's text content, joined. */
  text: string;
}

/** What a scenario usually needs to know about the conversation, derived once per request. */
export interface Conversation {
  /** Text of the last user message that is not a tool result (system-reminder blocks left out). */
  lastUserText: string;
  /** The last message is a user message holding at least one `tool_result`. */
  lastUserHasToolResult: boolean;
  toolResults: ToolResultInfo[];
  /** user + assistant messages before the last user message (system turns not counted). */
  earlierMessages: { total: number; user: number; assistant: number };
  /** Assistant messages so far that contain a tool_use. */
  toolUseTurns: number;
  /** The CLI's working directory as stated in its environment context, if found. */
  workingDirectory: string | null;
  /** A side request (title/summary, haiku model, tiny max_tokens and no tools): answer plain text. */
  isSideRequest: boolean;
}

export interface ScenarioContext {
  request: MessagesRequest;
  conversation: Conversation;
  /** Parameters from the `[[mock:…]]` directive or from the server options. */
  params: Readonly<Record<string, string>>;
  /** How many identical requests (same model + messages) were answered before this one. */
  attempt: number;
}

export type Scenario = (ctx: ScenarioContext) => MockReply;

export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  /** Path with query, as sent (`/v1/messages?beta=true`). */
  url: string;
  /** Path without query. */
  path: string;
  /** Header values are kept as received, auth included, so tests can assert which credential arrived. */
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  /** Scenario that answered a Messages request (`side` for side requests), else null. */
  scenario: string | null;
  receivedAt: number;
}
