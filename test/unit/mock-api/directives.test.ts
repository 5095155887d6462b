import { describe, expect, it } from 'vitest';
import { formatDirective, parseDirective, stripDirectives } from '../../../src/mock-api/directives.js';

describe('parseDirective', () => {
  it('reads a name and plain, double- and single-quoted parameters', () => {
    const text = `please [[mock:write-file path=hello.txt content="line one\\nsay \\"hi\\"" note='a b']] thanks`;
    expect(parseDirective(text)).toEqual({
      name: 'write-file',
      params: { path: 'hello.txt', content: 'line one\nsay "hi"', note: 'a b' },
    });
  });

  it('accepts a directive with no parameters and ignores text without one', () => {
    expect(parseDirective('[[mock:multi-turn]]')).toEqual({ name: 'multi-turn', params: {} });
    expect(parseDirective('just a prompt [[other:thing]]')).toBeNull();
  });

  it('keeps `]` inside quoted values and stops at the closing brackets', () => {
    expect(parseDirective('[[mock:bash command="echo [a] ]]"]] tail=1')).toEqual({
      name: 'bash',
      params: { command: 'echo [a] ]]' },
    });
  });

  it('round-trips through formatDirective', () => {
    const params = { command: 'printf "%s\\n" a b | wc -l', ms: '100', text: 'tab\there' };
    expect(parseDirective(`x ${formatDirective('bash', params)} y`)).toEqual({ name: 'bash', params });
  });

  it('strips directives from a prompt', () => {
    expect(stripDirectives('[[mock:echo]] hello [[mock:x a=1]]')).toBe('hello');
  });
});
