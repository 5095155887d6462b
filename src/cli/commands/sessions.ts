import { withSupervisor, print } from '../open-supervisor.js';

/** `claude-pod sessions`: every session with age, last activity, messages and active job. */
export function run(argv: string[]): Promise<number> {
  return withSupervisor(argv, {}, async (sup, values) => {
    const sessions = sup.sessions();
    print(
      sessions,
      Boolean(values.json),
      () =>
        sessions
          .map(
            (s) =>
              `${s.sessionId}  age ${s.ageSeconds}s  idle ${s.lastActivitySecondsAgo}s  ${s.messageCount} messages` +
              (s.activeJob ? `  active ${s.activeJob.jobId} (${s.activeJob.status})` : ''),
          )
          .join('\n') || 'no sessions',
    );
    return 0;
  });
}
