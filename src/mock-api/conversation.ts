/**
 * Reads a Messages request the way a scenario needs it: the last real user text, whether a tool
 * result just arrived, how long the conversation is, and whether this is a side request.
 */
import type { ApiMessage, ContentBlock, Conversation, MessagesRequest, ToolResultInfo } from './types.js';

const SYSTEM_REMINDER = '<system-reminder>';
/** Side requests (titles, summaries) ask for few tokens; the main loop asks for thousands. */
const SIDE_REQUEST_MAX_TOKENS = 512;

function blocksOf(message: ApiMessage): ContentBlock[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

function textOf(block: ContentBlock): string {
  return typeof block['text'] === 'string' ? block['text'] : '';
}

/** The user-authored text of a message: text blocks that are not CLI system reminders. */
export function userText(message: ApiMessage): string {
  return blocksOf(message)
    .filter((b) => b.type === 'text' && !textOf(b).trimStart().startsWith(SYSTEM_REMINDER))
    .map(textOf)
    .join('\n');
}

function toolResultsOf(message: ApiMessage): ToolResultInfo[] {
  return blocksOf(message)
    .filter((b) => b.type === 'tool_result')
    .map((b) => {
      const content = b['content'];
      const text =
        typeof content === 'string'
          ? content
          : Array.isArray(content)
            ? content
                .map((c: unknown) => (typeof c === 'object' && c !== null ? textOf(c as ContentBlock) : ''))
                .join('\n')
            : '';
      return { toolUseId: String(b['tool_use_id'] ?? ''), isError: b['is_error'] === true, text };
    });
}

/** User texts from the newest to the oldest, tool-result-only messages skipped. */
export function userTextsNewestFirst(request: MessagesRequest): string[] {
  return request.messages
    .filter((m) => m.role === 'user')
    .map(userText)
    .filter((t) => t.length > 0)
    .reverse();
}

function findWorkingDirectory(request: MessagesRequest): string | null {
  // The CLI states it in its environment section (in `system` or a `role: "system"` message).
  const system = typeof request.system === 'string' ? [request.system] : (request.system ?? []).map(textOf);
  const texts = [...system, ...request.messages.flatMap((m) => blocksOf(m).map(textOf))];
  for (const text of texts) {
    const match = /Primary working directory: (.+)$/m.exec(text);
    if (match?.[1]) return match[1].trim();
  }
  return null;
}

/** Title/summary-style requests carry no tools and use a haiku model or a tiny token budget. */
function isSideRequest(request: MessagesRequest): boolean {
  const noTools = request.tools === undefined || request.tools.length === 0;
  const small = request.max_tokens !== undefined && request.max_tokens <= SIDE_REQUEST_MAX_TOKENS;
  return noTools && (/haiku/i.test(request.model) || small);
}

export function readConversation(request: MessagesRequest): Conversation {
  const messages = request.messages;
  const last = messages.at(-1);
  const toolResults = last?.role === 'user' ? toolResultsOf(last) : [];
  let lastUserIndex = -1;
  messages.forEach((m, i) => {
    if (m.role === 'user') lastUserIndex = i;
  });
  const earlier = messages.slice(0, Math.max(lastUserIndex, 0));
  const user = earlier.filter((m) => m.role === 'user').length;
  const assistant = earlier.filter((m) => m.role === 'assistant').length;
  return {
    lastUserText: userTextsNewestFirst(request)[0] ?? '',
    lastUserHasToolResult: toolResults.length > 0,
    toolResults,
    earlierMessages: { total: user + assistant, user, assistant },
    toolUseTurns: messages.filter(
      (m) => m.role === 'assistant' && blocksOf(m).some((b) => b.type === 'tool_use'),
    ).length,
    workingDirectory: findWorkingDirectory(request),
    isSideRequest: isSideRequest(request),
  };
}
