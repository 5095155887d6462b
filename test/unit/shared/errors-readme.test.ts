import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/shared/errors.js';

/** The codes named in the first column of README's "## Errors" table. */
function documentedCodes(): Set<string> {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Errors'),
    readme.indexOf('\n## ', readme.indexOf('\n## Errors') + 1),
  );
  const codes = new Set<string>();
  for (const line of section.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1] ?? '';
    for (const m of first.matchAll(/`([A-Z_]+)`/g)) codes.add(m[1]!);
  }
  return codes;
}

describe("README's error table", () => {
  it('names every error code the code can return, and no other', () => {
    const documented = documentedCodes();
    expect([...Object.values(ErrorCodes)].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !Object.hasOwn(ErrorCodes, c))).toEqual([]);
  });
});
