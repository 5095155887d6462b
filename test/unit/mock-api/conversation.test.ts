import { describe, expect, it } from 'vitest';
import { readConversation } from '../../../src/mock-api/conversation.js';
import type { MessagesRequest } from '../../../src/mock-api/types.js';

function request(
  messages: MessagesRequest['messages'],
  extra: Partial<MessagesRequest> = {},
): MessagesRequest {
  return { model: 'claude-opus-test', max_tokens: 32000, tools: [{ name: 'Bash' }], messages, ...extra };
}

describe('readConversation', () => {
  it('takes the prompt text without CLI system reminders, and the working directory from the environment note', () => {
    const conversation = readConversation(
      request(
        [
          {
            role: 'user',
            content: [
              { type: 'text', text: '<system-reminder>\nattribution\n</system-reminder>\n' },
              { type: 'text', text: 'do the thing' },
            ],
          },
          {
            role: 'system',
            content: [{ type: 'text', text: '# Environment\n - Primary working directory: /workspace\n' }],
          },
        ],
        { system: [{ type: 'text', text: 'You are an agent.' }] },
      ),
    );
    expect(conversation).toMatchObject({
      lastUserText: 'do the thing',
      lastUserHasToolResult: false,
      earlierMessages: { total: 0, user: 0, assistant: 0 },
      workingDirectory: '/workspace',
      isSideRequest: false,
    });
  });

  it('sees a tool result in the last message and counts the turns before it', () => {
    const conversation = readConversation(
      request([
        { role: 'user', content: 'first' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: {} }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 't1',
              is_error: true,
              content: [{ type: 'text', text: 'boom' }],
            },
          ],
        },
      ]),
    );
    expect(conversation).toMatchObject({
      lastUserText: 'first',
      lastUserHasToolResult: true,
      toolResults: [{ toolUseId: 't1', isError: true, text: 'boom' }],
      earlierMessages: { total: 2, user: 1, assistant: 1 },
      toolUseTurns: 1,
      workingDirectory: null,
    });
  });

  it('flags side requests: no tools and a haiku model or a tiny max_tokens', () => {
    const messages = [{ role: 'user', content: 'title?' }];
    expect(readConversation(request(messages, { tools: undefined, max_tokens: 100 })).isSideRequest).toBe(
      true,
    );
    expect(readConversation(request(messages, { tools: [], model: 'claude-haiku-4-5' })).isSideRequest).toBe(
      true,
    );
    expect(readConversation(request(messages, { model: 'claude-haiku-4-5' })).isSideRequest).toBe(false);
  });
});
