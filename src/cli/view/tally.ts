/**
 * What a viewer counts while a job runs: Claude's turns, tokens and tool calls so far, from the
 * stream itself (the supervisor reports turns, cost and usage only once the final `result`
 * arrives). Claude Code repeats a message's usage on every content block of that message, so
 * usage is kept per message id and summed over messages, never over lines.
 */
import type { StreamLine, TokenUsage } from './stream-line.js';

export interface Tally {
  model: string | null;
  claudeVersion: string | null;
  /** Assistant messages of the main conversation (sub-agents' are not turns). */
  turns: number;
  toolCalls: number;
  toolErrors: number;
  tokens: TokenUsage;
  /** Known once the result arrives (Claude Code reports cost only there). */
  costUsd: number | null;
  /** Files Claude wrote or edited through its tools, as shown (relative to /workspace). */
  filesTouched: string[];
  result: Extract<StreamLine, { kind: 'result' }> | null;
  /** Internal: the usage last seen per message id. */
  usageByMessage: Map<string, TokenUsage>;
}

const WRITING_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);

export function emptyTally(): Tally {
  return {
    model: null,
    claudeVersion: null,
    turns: 0,
    toolCalls: 0,
    toolErrors: 0,
    tokens: { input: 0, output: 0 },
    costUsd: null,
    filesTouched: [],
    result: null,
    usageByMessage: new Map(),
  };
}

function sumUsage(usages: Iterable<TokenUsage>): TokenUsage {
  const total = { input: 0, output: 0 };
  for (const u of usages) {
    total.input += u.input;
    total.output += u.output;
  }
  return total;
}

/** Folds one parsed line into the tally (mutates and returns it). */
export function addToTally(tally: Tally, line: StreamLine): Tally {
  switch (line.kind) {
    case 'init':
      tally.model = line.model ?? tally.model;
      tally.claudeVersion = line.claudeVersion ?? tally.claudeVersion;
      break;
    case 'assistant': {
      const id = line.messageId ?? `anonymous-${tally.usageByMessage.size}`;
      const isNew = !tally.usageByMessage.has(id);
      if (isNew && line.parentToolUseId === null) tally.turns += 1;
      if (line.usage || isNew) tally.usageByMessage.set(id, line.usage ?? { input: 0, output: 0 });
      tally.tokens = sumUsage(tally.usageByMessage.values());
      for (const block of line.blocks) {
        if (block.kind !== 'tool') continue;
        tally.toolCalls += 1;
        if (WRITING_TOOLS.has(block.name) && block.detail && !tally.filesTouched.includes(block.detail)) {
          tally.filesTouched.push(block.detail);
        }
      }
      break;
    }
    case 'tool-results':
      tally.toolErrors += line.results.filter((r) => r.isError).length;
      break;
    case 'result':
      tally.result = line;
      tally.costUsd = line.costUsd;
      if (line.numTurns !== null) tally.turns = line.numTurns;
      if (line.usage) tally.tokens = line.usage;
      break;
    case 'system':
    case 'note':
    case 'ignored':
      break;
  }
  return tally;
}
