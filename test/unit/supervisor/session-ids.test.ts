import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { newSessionId, validateJobId, validateSessionId } from '../../../src/supervisor/session-ids.js';

describe('session ids', () => {
  it.each([
    ['../x'],
    ['/etc'],
    ['a/b'],
    [''],
    ['x'.repeat(10 * 1024)],
    ['a\0b'],
    ['..'],
    ['.hidden'],
    ['a\\b'],
    ['a b'],
  ])('rejects %j with INVALID_SESSION_ID', (id) => {
    expect(() => validateSessionId(id)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_SESSION_ID }),
    );
  });

  it('rejects non-strings', () => {
    expect(() => validateSessionId(42)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_SESSION_ID }),
    );
  });

  it('accepts generated and ordinary ids', () => {
    expect(validateSessionId(newSessionId())).toMatch(/^sess-/);
    expect(validateSessionId('my-project_2.v1')).toBe('my-project_2.v1');
  });

  it('rejects bad job ids with INVALID_ARGUMENT', () => {
    expect(() => validateJobId('../../etc/passwd')).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
  });
});
