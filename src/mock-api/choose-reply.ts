/**
 * Picks the reply for one Messages request: side requests get a short text; otherwise a
 * `[[mock:…]]` directive in the newest user text that has one; otherwise the server's default
 * scenario. A tool-call limit guarantees a final text turn even from a custom scenario.
 */
import { readConversation, userTextsNewestFirst } from './conversation.js';
import { parseDirective } from './directives.js';
import { builtInScenarios, sideReply, textReply } from './scenarios.js';
import type { MessagesRequest, MockReply, Scenario } from './types.js';

export interface ScenarioSelection {
  /** A scenario name (custom ones first, then built-in) or a scenario function. */
  scenario: string | Scenario;
  params: Record<string, string>;
}

export interface ChooseOptions {
  default: ScenarioSelection;
  custom: Readonly<Record<string, Scenario>>;
  maxToolTurns: number;
  attempt: number;
}

export interface Choice {
  /** Name of the scenario that answered (`side`, `custom` for a function, `unknown:NAME`). */
  name: string;
  reply: MockReply;
}

function lookup(name: string, custom: Readonly<Record<string, Scenario>>): Scenario | undefined {
  return Object.hasOwn(custom, name)
    ? custom[name]
    : Object.hasOwn(builtInScenarios, name)
      ? builtInScenarios[name]
      : undefined;
}

function directiveOf(request: MessagesRequest): ReturnType<typeof parseDirective> {
  for (const text of userTextsNewestFirst(request)) {
    const directive = parseDirective(text);
    if (directive) return directive;
  }
  return null;
}

export function chooseReply(request: MessagesRequest, options: ChooseOptions): Choice {
  const conversation = readConversation(request);
  const base = { request, conversation, attempt: options.attempt };
  if (conversation.isSideRequest) return { name: 'side', reply: sideReply({ ...base, params: {} }) };

  let name: string;
  let scenario: Scenario | undefined;
  let params: Record<string, string>;
  const directive = directiveOf(request);
  if (directive) {
    ({ name, params } = directive);
    scenario = lookup(name, options.custom);
  } else {
    const selected = options.default.scenario;
    name = typeof selected === 'string' ? selected : 'custom';
    scenario = typeof selected === 'string' ? lookup(selected, options.custom) : selected;
    params = options.default.params;
  }
  if (!scenario) return { name: `unknown:${name}`, reply: textReply(`Unknown mock scenario "${name}".`) };

  const reply = scenario({ ...base, params });
  const callsTool = reply.kind === 'message' && reply.blocks.some((b) => b.type === 'tool_use');
  if (callsTool && conversation.toolUseTurns >= options.maxToolTurns) {
    return { name, reply: textReply('Done. (mock tool-call limit reached)') };
  }
  return { name, reply };
}
