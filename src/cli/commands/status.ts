/** `claude-pod status [JOB]`: every job as a table, or one job in detail. */
import type { CliIo } from '../io.js';
import { loadConfig, withSupervisor } from '../open-supervisor.js';
import { configOption, jsonOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';
import { colorEnabled, makeColors } from '../view/colors.js';
import { jobDetail, jobsTable } from '../view/jobs.js';

interface StatusFlags extends ConfigFlag {
  json?: boolean;
}

export const register: Register = (program, ctx) => {
  program
    .command('status')
    .summary('every job as a table, or one job in detail')
    .argument('[job]', 'a job id: show that job in detail')
    .addOption(jsonOption('print the status (or the list) as JSON'))
    .addOption(configOption())
    .action(async (jobId: string | undefined, flags: StatusFlags) => {
      ctx.exit(await showStatus(jobId, flags, ctx.io));
    });
};

async function showStatus(jobId: string | undefined, flags: StatusFlags, io: CliIo): Promise<number> {
  const config = await loadConfig(flags.config);
  return withSupervisor(config, async (api) => {
    const c = makeColors(colorEnabled(io.stdout.isTTY === true, io.env));
    const now = Date.now();
    if (jobId !== undefined) {
      const job = api.status(jobId);
      io.stdout.write(
        flags.json
          ? `${JSON.stringify(job, null, 2)}\n`
          : `${jobDetail(job, now, c, { image: config.image }).join('\n')}\n`,
      );
    } else {
      const jobs = api.jobs();
      io.stdout.write(
        flags.json ? `${JSON.stringify(jobs, null, 2)}\n` : `${jobsTable(jobs, now, c).join('\n')}\n`,
      );
    }
    return 0;
  });
}
