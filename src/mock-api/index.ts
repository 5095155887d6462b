export { createMockApi, type MockApi, type MockApiEvents, type MockApiOptions } from './server.js';
export { parseDirective, formatDirective, type Directive } from './directives.js';
export { builtInScenarios, textReply, toolUseReply, DEFAULT_SCENARIO } from './scenarios.js';
export { readConversation } from './conversation.js';
export type {
  Conversation,
  MessageReply,
  ErrorReply,
  MockReply,
  Pacing,
  RecordedRequest,
  ReplyBlock,
  Scenario,
  ScenarioContext,
  MessagesRequest,
  ToolResultInfo,
} from './types.js';
