import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RegistryState } from '../../../src/supervisor/records.js';
import { RegistrySerializer } from '../../../src/supervisor/registry-serializer.js';
import { queuedJob, sessionRecord as session } from '../../fixtures/job-record.js';

describe('RegistrySerializer', () => {
  it('gives exactly JSON.stringify(state), through any sequence of replaced, added and removed records', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.string({ maxLength: 6 }), prompt: fc.string() }),
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), prompt: fc.string() }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const serializer = new RegistrySerializer();
        const state: RegistryState = { version: 2, sessions: {}, jobs: {} };
        for (const o of ops) {
          const ids = Object.keys(state.jobs);
          if (o.kind === 'add') {
            state.jobs[`job-${o.id}`] = queuedJob(`job-${o.id}`, { prompt: o.prompt });
            state.sessions[`s-${o.id}`] = session(`s-${o.id}`, [`job-${o.id}`]);
          } else if (ids.length && o.kind === 'replace') {
            const id = ids[o.at % ids.length]!;
            // A new record, as the state machine makes one (never an edit in place).
            state.jobs[id] = { ...state.jobs[id]!, prompt: o.prompt, status: 'running', phase: 'running' };
          } else if (ids.length && o.kind === 'remove') {
            delete state.jobs[ids[o.at % ids.length]!];
          }
          expect(serializer.serialize(state)).toBe(JSON.stringify(state));
        }
      }),
      { seed: 20261128, numRuns: 300 },
    );
  });

  it('keys that need escaping and records with undefined fields come out as JSON.stringify writes them', () => {
    const state: RegistryState = {
      version: 2,
      sessions: { 'a"b\\c\u2028': session('a"b\\c\u2028', []) },
      jobs: { 'j\n1': { ...queuedJob('j\n1'), engine: undefined } },
    };
    expect(new RegistrySerializer().serialize(state)).toBe(JSON.stringify(state));
  });
});
