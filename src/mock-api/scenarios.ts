/**
 * Built-in scenarios. Each decides one reply from the conversation so far; every one that calls a
 * tool answers the tool's result with a final text turn, so no client can loop on it.
 * Parameters come from the `[[mock:NAME key=value]]` directive (all strings).
 */
import { posix } from 'node:path';
import { stripDirectives } from './directives.js';
import type { MockReply, ReplyBlock, Scenario, ScenarioContext } from './types.js';

const DEFAULT_WORKSPACE = '/workspace';

export function textReply(text: string, extra?: Partial<Extract<ReplyBlock, { type: 'text' }>>): MockReply {
  return { kind: 'message', blocks: [{ type: 'text', text, ...extra }] };
}

export function toolUseReply(name: string, input: Record<string, unknown>, preface?: string): MockReply {
  const blocks: ReplyBlock[] = preface === undefined ? [] : [{ type: 'text', text: preface }];
  blocks.push({ type: 'tool_use', name, input });
  return { kind: 'message', blocks };
}

function intParam(ctx: ScenarioContext, key: string, fallback: number): number {
  const raw = ctx.params[key];
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

/** The text that ends a tool-using scenario: the `text` parameter, else "Done.". */
function finalText(ctx: ScenarioContext): MockReply {
  return textReply(ctx.params['text'] ?? 'Done.');
}

/** Calls a tool on the first turn, answers its result with the final text. */
function withOneTool(build: (ctx: ScenarioContext) => MockReply): Scenario {
  return (ctx) => (ctx.conversation.lastUserHasToolResult ? finalText(ctx) : build(ctx));
}

const echo: Scenario = (ctx) =>
  textReply(ctx.params['text'] ?? `Echo: ${stripDirectives(ctx.conversation.lastUserText)}`);

const writeFile = withOneTool((ctx) => {
  const path = ctx.params['path'] ?? 'hello.txt';
  const base = ctx.params['dir'] ?? ctx.conversation.workingDirectory ?? DEFAULT_WORKSPACE;
  const filePath = posix.isAbsolute(path) ? path : posix.join(base, path);
  return toolUseReply('Write', {
    file_path: filePath,
    content: ctx.params['content'] ?? 'hello from the mock\n',
  });
});

const bash = withOneTool((ctx) =>
  toolUseReply('Bash', {
    command: ctx.params['command'] ?? 'echo hello from the mock',
    description: ctx.params['description'] ?? 'Run the mock scenario command',
  }),
);

const memoryHog = withOneTool((ctx) => {
  const mb = intParam(ctx, 'mb', 2048);
  const command = ctx.params['command'] ?? `python3 -c "a = bytearray(${mb} * 1024 * 1024); print(len(a))"`;
  return toolUseReply('Bash', { command, description: 'Allocate a lot of memory' });
});

const slowStream: Scenario = (ctx) => {
  const count = Math.max(1, intParam(ctx, 'count', 20));
  const delay = intParam(ctx, 'delay', 250);
  const chunks = Array.from({ length: count }, (_, i) => `chunk ${i + 1}${i + 1 < count ? ' ' : ''}`);
  return {
    kind: 'message',
    blocks: [{ type: 'text', text: chunks.join(''), chunks }],
    pacing: { deltaDelayMs: delay },
  };
};

/** Silence: before the headers (`phase=headers`) or after `message_start` (default); then a text reply. */
const stall: Scenario = (ctx) => {
  const ms = intParam(ctx, 'ms', 300_000);
  const pacing = ctx.params['phase'] === 'headers' ? { headersDelayMs: ms } : { stallMs: ms };
  return {
    kind: 'message',
    blocks: [{ type: 'text', text: ctx.params['text'] ?? 'Stalled, then answered.' }],
    pacing,
  };
};

/** Sends the first `after` events of a reply, then destroys the connection. */
const drop: Scenario = (ctx) => ({
  kind: 'message',
  blocks: [{ type: 'text', text: 'This reply is cut off before it ends.' }],
  pacing: { dropAfterEvents: Math.max(1, intParam(ctx, 'after', 4)) },
});

/** An HTTP error status; with `times=N` only the first N identical requests fail, then echo. */
const error: Scenario = (ctx) => {
  const times = intParam(ctx, 'times', Number.POSITIVE_INFINITY);
  if (ctx.attempt >= times) return echo(ctx);
  const retry = ctx.params['retry'];
  return {
    kind: 'error',
    status: intParam(ctx, 'status', 529),
    ...(ctx.params['type'] === undefined ? {} : { errorType: ctx.params['type'] }),
    ...(ctx.params['message'] === undefined ? {} : { message: ctx.params['message'] }),
    ...(retry === undefined ? {} : { shouldRetry: retry === 'true' || retry === '1' }),
  };
};

const multiTurn: Scenario = (ctx) => {
  const { total, user, assistant } = ctx.conversation.earlierMessages;
  return textReply(`Earlier messages: ${total} (user ${user}, assistant ${assistant}).`);
};

/** Answer for title/summary and other side requests: short, plain, never a tool call. */
export const sideReply: Scenario = () => textReply('Mock session');

export const builtInScenarios: Readonly<Record<string, Scenario>> = {
  echo,
  'write-file': writeFile,
  bash,
  'memory-hog': memoryHog,
  'slow-stream': slowStream,
  stall,
  drop,
  error,
  'multi-turn': multiTurn,
};

export const DEFAULT_SCENARIO = 'echo';
