import { withSupervisor, print } from '../open-supervisor.js';

/** `claude-pod output JOB_ID [--offset N] [--limit N]`: a page of a job's output. */
export function run(argv: string[]): Promise<number> {
  return withSupervisor(
    argv,
    { offset: { type: 'string' }, limit: { type: 'string' } },
    async (sup, values, [jobId]) => {
      const page = await sup.output(jobId ?? '', {
        ...(values.offset ? { offset: Number(values.offset) } : {}),
        ...(values.limit ? { limit: Number(values.limit) } : {}),
      });
      print(page, Boolean(values.json), () => page.content);
      return 0;
    },
  );
}
