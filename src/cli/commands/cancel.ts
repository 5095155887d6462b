/** `claude-pod cancel JOB`: stop a pending or running job (its output is kept). */
import { loadConfig, withSupervisor } from '../open-supervisor.js';
import { configOption, jsonOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';
import { formatDuration } from '../view/format.js';
import { elapsedSeconds } from '../view/status-line.js';

export const register: Register = (program, ctx) => {
  program
    .command('cancel')
    .summary('cancel a pending or running job (its output is kept)')
    .argument('<job>', 'the job id')
    .addOption(jsonOption("print the job's status afterwards as JSON"))
    .addOption(configOption())
    .action(async (jobId: string, flags: ConfigFlag & { json?: boolean }) => {
      const { io } = ctx;
      const config = await loadConfig(flags.config);
      await withSupervisor(config, async (api) => {
        const before = api.status(jobId);
        const ended = before.status !== 'pending' && before.status !== 'running';
        const job = ended ? before : await api.cancel(jobId);
        const text = ended
          ? `job ${jobId} had already ${before.status === 'cancelled' ? 'been cancelled' : before.status}; nothing to cancel`
          : job.status === 'cancelled'
            ? `job ${jobId} cancelled after ${formatDuration(elapsedSeconds(job, Date.now()))}; its output is kept: claude-pod logs ${jobId}`
            : `job ${jobId} ended as ${job.status} before it could be cancelled`;
        io.stdout.write(flags.json ? `${JSON.stringify(job, null, 2)}\n` : `${text}\n`);
      });
      ctx.exit(0);
    });
};
