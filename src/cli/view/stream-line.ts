/**
 * Claude Code's stream-json, one output line at a time, turned into what a viewer shows or
 * counts. Pure: no I/O, no clock. Text is kept as Claude wrote it (the renderer sanitises it);
 * a line that is not JSON (claude-pod's truncation marker, stray container output) is `note`.
 */
import { toolCallDetail } from './tool-call.js';

export interface TokenUsage {
  /** input_tokens + cache_creation_input_tokens + cache_read_input_tokens */
  input: number;
  output: number;
}

export type AssistantBlock =
  | { kind: 'text'; text: string }
  | { kind: 'tool'; id: string | null; name: string; detail: string }
  | { kind: 'thinking' };

export type StreamLine =
  | {
      kind: 'init';
      model: string | null;
      cwd: string | null;
      claudeVersion: string | null;
      sessionId: string | null;
    }
  | {
      kind: 'assistant';
      messageId: string | null;
      /** Set when the message belongs to a sub-agent (Task) rather than the main conversation. */
      parentToolUseId: string | null;
      usage: TokenUsage | null;
      blocks: AssistantBlock[];
    }
  | {
      kind: 'tool-results';
      parentToolUseId: string | null;
      results: Array<{ toolUseId: string | null; isError: boolean; text: string }>;
    }
  | {
      kind: 'result';
      subtype: string | null;
      isError: boolean;
      result: string | null;
      numTurns: number | null;
      costUsd: number | null;
      durationMs: number | null;
      usage: TokenUsage | null;
    }
  | { kind: 'system'; subtype: string | null }
  | { kind: 'note'; text: string }
  | { kind: 'ignored' };

type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Json | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;

export function usageOf(raw: unknown): TokenUsage | null {
  const u = obj(raw);
  if (!u) return null;
  const n = (k: string) => num(u[k]) ?? 0;
  return {
    input: n('input_tokens') + n('cache_creation_input_tokens') + n('cache_read_input_tokens'),
    output: n('output_tokens'),
  };
}

/** The text of a tool_result's content: a string, or the text blocks of an array. */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => (obj(b)?.type === 'text' ? (str(obj(b)?.text) ?? '') : ''))
    .filter(Boolean)
    .join('\n');
}

function assistantBlocks(content: unknown): AssistantBlock[] {
  if (!Array.isArray(content)) return [];
  const blocks: AssistantBlock[] = [];
  for (const raw of content) {
    const b = obj(raw);
    if (!b) continue;
    if (b.type === 'text' && typeof b.text === 'string') blocks.push({ kind: 'text', text: b.text });
    else if (b.type === 'tool_use' || b.type === 'server_tool_use') {
      const name = str(b.name) ?? '?';
      blocks.push({ kind: 'tool', id: str(b.id), name, detail: toolCallDetail(name, b.input) });
    } else if (b.type === 'thinking' || b.type === 'redacted_thinking') blocks.push({ kind: 'thinking' });
  }
  return blocks;
}

/** One line of a job's output (without its newline). */
export function parseStreamLine(line: string): StreamLine {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'ignored' };
  let event: Json | null = null;
  if (trimmed.startsWith('{')) {
    try {
      event = obj(JSON.parse(trimmed));
    } catch {
      event = null;
    }
  }
  if (!event) return { kind: 'note', text: line };
  const message = obj(event.message);
  const parentToolUseId = str(event.parent_tool_use_id);
  switch (event.type) {
    case 'system':
      if (event.subtype === 'init') {
        return {
          kind: 'init',
          model: str(event.model),
          cwd: str(event.cwd),
          claudeVersion: str(event.claude_code_version),
          sessionId: str(event.session_id),
        };
      }
      return { kind: 'system', subtype: str(event.subtype) };
    case 'assistant':
      return {
        kind: 'assistant',
        messageId: str(message?.id),
        parentToolUseId,
        usage: usageOf(message?.usage),
        blocks: assistantBlocks(message?.content),
      };
    case 'user': {
      const content = Array.isArray(message?.content) ? (message.content as unknown[]) : [];
      const results = content
        .map(obj)
        .filter((b): b is Json => b?.type === 'tool_result')
        .map((b) => ({
          toolUseId: str(b.tool_use_id),
          isError: b.is_error === true,
          text: resultText(b.content),
        }));
      return results.length ? { kind: 'tool-results', parentToolUseId, results } : { kind: 'ignored' };
    }
    case 'result':
      return {
        kind: 'result',
        subtype: str(event.subtype),
        isError: event.is_error === true,
        result: str(event.result),
        numTurns: num(event.num_turns),
        costUsd: num(event.total_cost_usd),
        durationMs: num(event.duration_ms),
        usage: usageOf(event.usage),
      };
    default:
      return { kind: 'ignored' };
  }
}
