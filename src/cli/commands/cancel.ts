import { withSupervisor, print } from '../open-supervisor.js';

/** `claude-pod cancel JOB_ID`. */
export function run(argv: string[]): Promise<number> {
  return withSupervisor(argv, {}, async (sup, values, [jobId]) => {
    const status = await sup.cancel(jobId ?? '');
    print(status, Boolean(values.json), () => `${status.jobId} ${status.status}`);
    return 0;
  });
}
