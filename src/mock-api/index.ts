/**
 * A mock of the Anthropic Messages API for the demo and the tests (never the real API).
 *
 *   const api = await createMockApi();            // or { socketPath }, { scenario: 'bash', params }
 *   ANTHROPIC_BASE_URL = api.url; … api.messageRequests(); await api.close();
 *
 * A prompt picks its scenario with a directive: `[[mock:NAME key=value key2="quoted \"value\""]]`
 * (the newest user text holding one wins, so a directive keeps steering the tool turns that follow).
 *   echo          text=…                     one text reply (default: "Echo: <prompt without directive>")
 *   write-file    path= content= dir= text=  Write tool_use (relative path joined to the CLI's working
 *                                            directory, else /workspace), then "Done." (or text)
 *   bash          command= description= text= Bash tool_use, then "Done."
 *   memory-hog    mb=2048 command= text=     Bash: python3 allocating mb MiB, then "Done."
 *   multi-turn                               "Earlier messages: N (user U, assistant A)."
 *   slow-stream   count=20 delay=250         count text deltas, delay ms apart
 *   stall         ms=300000 phase=body|headers text=  silence after message_start (or before the
 *                                            headers), then a text reply
 *   drop          after=4                    the connection is destroyed after `after` SSE events
 *   error         status=529 type= message= times= retry=true|false  an HTTP error with an Anthropic
 *                                            error body; with times=N only the first N identical
 *                                            requests fail (retries then succeed)
 * Side requests (no tools and a haiku model or max_tokens <= 512) always get "Mock session".
 */
export { createMockApi, type MockApi, type MockApiEvents, type MockApiOptions } from './server.js';
export { parseDirective, formatDirective, stripDirectives, type Directive } from './directives.js';
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
