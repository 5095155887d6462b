/**
 * `claude-pod serve [--config FILE] [--idle-exit SECONDS]`: own the state directory as a daemon —
 * supervise its jobs and serve the control API that `status`, `cancel` and the other job commands
 * talk to. Job commands start it by themselves when nothing owns the directory; it exits after
 * `--idle-exit` seconds with no unfinished job and no client (0: never; default: the
 * CLAUDE_POD_SERVE_IDLE_EXIT environment variable, else 60).
 */
import { InvalidArgumentError } from 'commander';
import { seconds } from '../arguments.js';
import { loadConfig } from '../open-supervisor.js';
import { configOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';

const DEFAULT_IDLE_EXIT_SECONDS = 60;
/** The idle exit when `--idle-exit` is not given; job commands start `serve` without it. */
export const IDLE_EXIT_ENV = 'CLAUDE_POD_SERVE_IDLE_EXIT';

export const register: Register = (program, ctx) => {
  program
    .command('serve')
    .summary('own the state directory as a daemon (job commands start it when needed)')
    .option(
      '--idle-exit <seconds>',
      `exit after this long with no unfinished job and no client (0: never; default: $${IDLE_EXIT_ENV} or ${DEFAULT_IDLE_EXIT_SECONDS})`,
      seconds,
    )
    .addOption(configOption())
    .action(async (flags: ConfigFlag & { idleExit?: number }) => {
      const fromEnv = ctx.io.env[IDLE_EXIT_ENV];
      let idleExit = flags.idleExit;
      if (idleExit === undefined && fromEnv !== undefined) {
        try {
          idleExit = seconds(fromEnv);
        } catch (error) {
          throw new InvalidArgumentError(`${IDLE_EXIT_ENV}: ${(error as Error).message}`);
        }
      }
      const [{ runServe }, { createLogger }] = await Promise.all([
        import('../../supervisor/serve.js'),
        import('../../shared/logger.js'),
      ]);
      const logger = createLogger({ name: 'claude-pod-serve' });
      const stop = new Promise<void>((resolve) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
      });
      process.on('SIGHUP', () => undefined);
      const config = await loadConfig(flags.config);
      ctx.exit(
        await runServe(config, {
          logger,
          idleExitMs: (idleExit ?? DEFAULT_IDLE_EXIT_SECONDS) * 1000,
          stop,
        }),
      );
    });
};
