import { parseArgs } from 'node:util';
import { loadCliConfig } from '../../setup/config-file.js';
import { createLogger } from '../../shared/logger.js';
import { runServe } from '../../supervisor/serve.js';

const DEFAULT_IDLE_EXIT_SECONDS = 60;
/** The idle exit when `--idle-exit` is not given; job commands start `serve` without it. */
export const IDLE_EXIT_ENV = 'CLAUDE_POD_SERVE_IDLE_EXIT';

/**
 * `claude-pod serve [--config FILE] [--idle-exit SECONDS]`: own the state directory as a daemon —
 * supervise its jobs and serve the control API that `status`, `cancel` and the other job commands
 * talk to. Job commands start it by themselves when nothing owns the directory; it exits after
 * `--idle-exit` seconds with no unfinished job and no client (0: never; default: the
 * CLAUDE_POD_SERVE_IDLE_EXIT environment variable, else 60).
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, 'idle-exit': { type: 'string' } },
  });
  const idleExit = Number(values['idle-exit'] ?? process.env[IDLE_EXIT_ENV] ?? DEFAULT_IDLE_EXIT_SECONDS);
  if (!Number.isFinite(idleExit) || idleExit < 0) {
    process.stderr.write(
      `claude-pod serve: --idle-exit (or ${IDLE_EXIT_ENV}) takes a number of seconds (0 = never)\n`,
    );
    return 2;
  }
  const config = await loadCliConfig(values.config);
  const logger = createLogger({ name: 'claude-pod-serve' });
  const stop = new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  process.on('SIGHUP', () => undefined);
  return runServe(config, { logger, idleExitMs: idleExit * 1000, stop });
}
