/**
 * `claude-pod run "<prompt>"`: start a job and watch it live — tool calls, Claude's text, a
 * status line, a summary — until it ends. Ctrl-C asks whether to cancel the job or detach from
 * it (`--cancel-on-exit` cancels without asking). Exit code: the job's (0 / 1 / 130).
 */
import type { JobStatus } from '../../supervisor/api.js';
import { EXIT, exitCodeForJob } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { createView, viewMode } from '../live/create-view.js';
import { handleInterrupts, type InterruptChoice } from '../live/interrupt.js';
import { watchJob } from '../live/watch-job.js';
import { loadConfig, openSupervisor } from '../open-supervisor.js';
import { configOption, viewOptions, type ConfigFlag, type ViewFlags } from '../options.js';
import type { Register } from '../program.js';

interface RunFlags extends ConfigFlag, ViewFlags {
  session?: string;
  detach?: boolean;
  cancelOnExit?: boolean;
}

export const register: Register = (program, ctx) => {
  const cmd = program
    .command('run')
    .summary('start a job and watch it live to the end')
    .description(
      'Start a Claude Code job in a new container and watch it: each tool call on one line, Claude’s text as it\n' +
        'arrives, a status line (elapsed, turns, tokens, cost, activity) and a summary at the end.\n' +
        'Ctrl-C asks whether to cancel the job or detach from it (the job keeps running; `claude-pod logs -f JOB`).',
    )
    .argument('<prompt...>', 'what Claude Code should do (one quoted argument, or several words)')
    .option('-s, --session <id>', 'continue this session: same workspace and conversation')
    .option('-d, --detach', 'start the job and return at once, printing its ids')
    .option('--cancel-on-exit', 'on Ctrl-C (or when killed) cancel the job without asking');
  for (const option of viewOptions()) cmd.addOption(option);
  cmd.addOption(configOption()).action(async (words: string[], flags: RunFlags) => {
    ctx.exit(await runJob(words.join(' '), flags, ctx.io));
  });
};

export async function runJob(prompt: string, flags: RunFlags, io: CliIo): Promise<number> {
  const config = await loadConfig(flags.config);
  const api = await openSupervisor(config, { startsJobs: true });
  try {
    const started = await api.start({ prompt, ...(flags.session ? { sessionId: flags.session } : {}) });
    if (flags.detach) {
      io.stdout.write(
        flags.json
          ? `${JSON.stringify(started)}\n`
          : `job ${started.jobId} (session ${started.sessionId})\nfollow it: claude-pod logs -f ${started.jobId}\n`,
      );
      return EXIT.ok;
    }
    const view = createView(viewMode(flags), io);
    view.message(`job ${started.jobId} · session ${started.sessionId} · image ${config.image}`);
    const detach = new AbortController();
    let cancelling: Promise<JobStatus> | null = null;
    const decide = (choice: InterruptChoice) => {
      view.resume();
      if (choice === 'detach') detach.abort();
      else if (choice === 'cancel' && !cancelling) {
        view.message(`cancelling job ${started.jobId} …`);
        cancelling = api.cancel(started.jobId);
        cancelling.catch((error: unknown) => view.message(`cancel failed: ${(error as Error).message}`));
      }
    };
    const restore = handleInterrupts(io, {
      cancelOnExit: flags.cancelOnExit === true,
      ask: (question) => view.pause(question),
      decide,
    });
    try {
      const final = await watchJob(api, started.jobId, view, {
        signal: detach.signal,
        errorDetails: { image: config.image },
      });
      if (final) return exitCodeForJob(final);
      view.close();
      view.message(
        `detached: job ${started.jobId} keeps running · follow it: claude-pod logs -f ${started.jobId}` +
          ` · stop it: claude-pod cancel ${started.jobId}`,
      );
      return EXIT.ok;
    } finally {
      restore();
      view.close();
    }
  } finally {
    await api.close();
  }
}
