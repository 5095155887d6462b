import { withSupervisor, print } from '../open-supervisor.js';

/** `claude-pod cleanup [--older-than SECONDS]`: remove idle sessions. */
export function run(argv: string[]): Promise<number> {
  return withSupervisor(argv, { 'older-than': { type: 'string' } }, async (sup, values) => {
    const olderThan = values['older-than'];
    const result = await sup.cleanup(
      typeof olderThan === 'string' ? { olderThanSeconds: Number(olderThan) } : {},
    );
    print(result, Boolean(values.json), () => `removed ${result.removedSessions.length} session(s)`);
    return 0;
  });
}
