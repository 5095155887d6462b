import { withSupervisor, print } from '../open-supervisor.js';
import type { JobStatus } from '../../supervisor/job-view.js';

/** `claude-pod run "<prompt>" [--session ID] [--detach]`: start a job and follow it to the end. */
export function run(argv: string[]): Promise<number> {
  return withSupervisor(
    argv,
    { session: { type: 'string' }, detach: { type: 'boolean' } },
    async (sup, values, positionals) => {
      const prompt = positionals.join(' ');
      const started = await sup.start({
        prompt,
        ...(typeof values.session === 'string' ? { sessionId: values.session } : {}),
      });
      if (values.detach) {
        print(started, Boolean(values.json), () => `job ${started.jobId} (session ${started.sessionId})`);
        return 0;
      }
      process.stderr.write(`job ${started.jobId} (session ${started.sessionId})\n`);
      let offset = 0;
      const drain = async () => {
        for (;;) {
          const page = await sup.output(started.jobId, { offset, limit: 256 * 1024 });
          if (!values.json) process.stdout.write(page.content);
          offset = page.nextOffset;
          if (!page.hasMore) return;
        }
      };
      const final = await new Promise<JobStatus>((resolve) => {
        const timer = setInterval(() => void drain(), 500);
        const now = sup.status(started.jobId);
        if (['completed', 'failed', 'cancelled'].includes(now.status)) resolve(now);
        sup.on('job:end', (s) => {
          if (s.jobId !== started.jobId) return;
          clearInterval(timer);
          resolve(s);
        });
      });
      await drain();
      if (values.json) print(final, true, () => '');
      else
        process.stderr.write(
          `${final.status}${final.error ? `: [${final.errorCode}] ${final.error}` : ''}\n`,
        );
      return final.status === 'completed' ? 0 : 1;
    },
    { startsJobs: true },
  );
}
