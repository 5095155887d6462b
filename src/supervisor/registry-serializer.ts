import type { RegistryState } from './records.js';

/**
 * The registry as JSON, byte for byte what `JSON.stringify(state)` gives, without serialising
 * again the records that did not change. Job and session records are immutable (the state machine
 * replaces a record, never edits it), so each record's JSON is kept by the record's identity: a
 * write costs the serialisation of the records changed since the last one plus one concatenation,
 * instead of a full `JSON.stringify` of every session and job kept on the main thread (51 ms at
 * 1,000 sessions with 4 ended jobs each; bench/registry-scale.ts).
 */
export class RegistrySerializer {
  private cache = new WeakMap<object, string>();

  serialize(state: RegistryState): string {
    return (
      `{"version":${JSON.stringify(state.version)},` +
      `"sessions":${this.records(state.sessions)},"jobs":${this.records(state.jobs)}}`
    );
  }

  private records(byId: Record<string, object>): string {
    const parts: string[] = [];
    for (const id of Object.keys(byId)) {
      const record = byId[id]!;
      let json = this.cache.get(record);
      if (json === undefined) {
        json = JSON.stringify(record);
        this.cache.set(record, json);
      }
      parts.push(`${JSON.stringify(id)}:${json}`);
    }
    return `{${parts.join(',')}}`;
  }
}
