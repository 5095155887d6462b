/**
 * The README's API section is kept by hand: this keeps it whole. Every member of SupervisorApi,
 * its events, JobStatus, CleanupResult and SupervisorInfo (read from the source) must appear in
 * the README's API code block.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

/** The member names of `interface NAME { … }` in a source file (top-level members only). */
function members(source: string, name: string): string[] {
  const start = source.indexOf(`interface ${name}`);
  expect(start, `interface ${name}`).toBeGreaterThanOrEqual(0);
  const body = source.slice(source.indexOf('{', start) + 1);
  const names: string[] = [];
  let depth = 0;
  for (const line of body.split('\n')) {
    if (depth === 0) {
      if (/^\s*}/.test(line)) break;
      const m = /^\s*'?([\w:]+)'?\??[(:]/.exec(line);
      if (m) names.push(m[1]!);
    }
    depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
  }
  return names;
}

describe('README API section', () => {
  const readme = read('README.md');
  const api = /### API[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const source = read('src/supervisor/api.ts');
  const jobView = read('src/supervisor/job-view.ts');

  it.each([
    ['SupervisorApi', source, (m: string) => `  ${m}(`],
    ['SupervisorEvents', source, (m: string) => (m.includes(':') ? `'${m}':` : `${m}:`)],
    ['CleanupResult', source, (m: string) => `  ${m}:`],
    ['SupervisorInfo', source, (m: string) => `  ${m}:`],
    ['JobStatus', jobView, (m: string) => `  ${m}:`],
  ] as const)('lists every member of %s', (name, text, form) => {
    const names = members(text, name);
    expect(names.length).toBeGreaterThan(2);
    for (const member of names) expect(api, `${name}.${member}`).toContain(form(member));
  });
});
