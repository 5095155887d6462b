/**
 * `claude-pod logs JOB [-f]`: a job's output as the live view shows it (or --json / --raw),
 * from its first byte. With -f, attach to a running job and follow it to its end; Ctrl-C stops
 * following (the job keeps running). Exit code: the job's once it has ended (0 / 1 / 130).
 */
import { EXIT, exitCodeForJob } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { createView, viewMode } from '../live/create-view.js';
import { handleInterrupts } from '../live/interrupt.js';
import { watchJob } from '../live/watch-job.js';
import { loadConfig, withSupervisor } from '../open-supervisor.js';
import { configOption, viewOptions, type ConfigFlag, type ViewFlags } from '../options.js';
import type { Register } from '../program.js';

interface LogsFlags extends ConfigFlag, ViewFlags {
  follow?: boolean;
}

export const register: Register = (program, ctx) => {
  const cmd = program
    .command('logs')
    .summary("show a job's output; -f follows a running job")
    .description(
      "Show a job's output from the start as the live view renders it. With -f, follow a running job to\n" +
        'its end (Ctrl-C stops following; the job keeps running).',
    )
    .argument('<job>', 'the job id (claude-pod status lists them)')
    .option('-f, --follow', 'keep following a running job until it ends');
  for (const option of viewOptions()) cmd.addOption(option);
  cmd.addOption(configOption()).action(async (jobId: string, flags: LogsFlags) => {
    ctx.exit(await showLogs(jobId, flags, ctx.io));
  });
};

async function showLogs(jobId: string, flags: LogsFlags, io: CliIo): Promise<number> {
  const config = await loadConfig(flags.config);
  return withSupervisor(config, async (api) => {
    api.status(jobId); // JOB_NOT_FOUND before any output
    const view = createView(viewMode(flags), io);
    const stop = new AbortController();
    // Ctrl-C stops following (as a key at a terminal: a SIGINT would also reach the runtime's
    // processes this supervisor re-attached to).
    const restore = flags.follow
      ? handleInterrupts(io, { cancelOnExit: false, decide: () => stop.abort() })
      : () => undefined;
    try {
      const final = await watchJob(api, jobId, view, {
        signal: stop.signal,
        once: !flags.follow,
        errorDetails: { image: config.image },
      });
      if (final) return exitCodeForJob(final);
      view.close();
      if (stop.signal.aborted) return EXIT.cancelled;
      view.message(`job ${jobId} is still running · follow it: claude-pod logs -f ${jobId}`);
      return EXIT.ok;
    } finally {
      restore();
      view.close();
    }
  });
}
