import { withSupervisor, print } from '../open-supervisor.js';

/** `claude-pod status [JOB_ID]`: one job's status, or every job's. */
export function run(argv: string[]): Promise<number> {
  return withSupervisor(argv, {}, async (sup, values, [jobId]) => {
    const statuses = jobId ? [sup.status(jobId)] : sup.jobs();
    print(
      jobId ? statuses[0] : statuses,
      Boolean(values.json),
      () =>
        statuses
          .map(
            (s) =>
              `${s.jobId}  ${s.sessionId}  ${s.status.padEnd(9)}  ${s.elapsedSeconds}s  ${s.outputSize} B` +
              (s.error ? `  [${s.errorCode}] ${s.error}` : ''),
          )
          .join('\n') || 'no jobs',
    );
    return 0;
  });
}
