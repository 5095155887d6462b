/* eslint-disable no-control-regex -- these tests look for terminal control characters */
import { describe, expect, it } from 'vitest';
import { sanitizeLine, sanitizeText, truncate } from '../../../../src/cli/view/sanitize.js';

/** Nothing that a terminal would act on: ESC, BEL, CR, BS, DEL, C1 controls. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe('sanitizeText', () => {
  it.each([
    ['window title (OSC 0, BEL)', 'a\x1b]0;pwned\x07b', 'ab'],
    ['window title (OSC 2, ST)', 'a\x1b]2;pwned\x1b\\b', 'ab'],
    ['hyperlink (OSC 8)', '\x1b]8;;https://evil\x07link\x1b]8;;\x07', 'link'],
    ['clear screen', 'a\x1b[2Jb', 'ab'],
    ['cursor home + erase', '\x1b[H\x1b[3Jx', 'x'],
    ['colours', '\x1b[31mred\x1b[0m \x1b[1;38;5;208mbold\x1b[m', 'red bold'],
    ['8-bit CSI', 'a\x9b2Jb', 'ab'],
    ['8-bit OSC', 'a\x9d0;pwned\x07b', 'ab'],
    ['DCS', 'a\x1bPq#0;2;0;0;0\x1b\\b', 'ab'],
    ['full reset (ESC c)', 'a\x1bcb', 'ab'],
    ['charset (ESC ( B)', 'a\x1b(Bb', 'ab'],
    ['save cursor (ESC 7)', 'a\x1b7b', 'ab'],
    ['bell, backspace, DEL', 'a\x07\x08\x7fb', 'ab'],
    ['carriage return overwrite', 'safe\rEVIL', 'safeEVIL'],
    ['CRLF becomes LF', 'a\r\nb', 'a\nb'],
    ['lone ESC', 'a\x1b', 'a'],
    ['unterminated OSC: introducer dropped, text kept', 'a\x1b]0;title', 'a0;title'],
  ])('%s', (_name, input, expected) => {
    const out = sanitizeText(input);
    expect(out).toBe(expected);
    expect(out).not.toMatch(CONTROL);
  });

  it('keeps tabs, newlines and any printable Unicode', () => {
    const text = 'Überprüfung «日本語» ✓ 🚀\n\tindent → done';
    expect(sanitizeText(text)).toBe(text);
  });

  it('leaves no control character in random byte soup', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const soup = Array.from({ length: 40 }, () => String.fromCharCode(Math.floor(rand() * 0xa0))).join('');
      expect(sanitizeText(soup)).not.toMatch(CONTROL);
    }
  });
});

describe('sanitizeLine and truncate', () => {
  it('collapses whitespace into one line', () => {
    expect(sanitizeLine('  npm test\n\t&& \x1b[2Jecho ok  ')).toBe('npm test && echo ok');
  });

  it('cuts on code points with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('🚀🚀🚀', 2)).toBe('🚀…');
    expect(truncate('abc', 3)).toBe('abc');
  });
});
