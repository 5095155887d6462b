import type { ResolvedConfig } from '../shared/config.js';
import { isClaudePodError, ErrorCodes, serializeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { openOwner } from './create.js';

export interface ServeOptions {
  logger: Logger;
  /** Exit after this long with no unfinished job and no connected client (0 = never). */
  idleExitMs: number;
  /** Resolves when the daemon should stop (signals). */
  stop: Promise<void>;
}

/**
 * The owner of a state directory as a process of its own (`claude-pod serve`): recovers the jobs
 * it finds, serves the control API, runs the jobs' watchdogs and notifications, and exits on a
 * signal or once idle. Returns the exit code.
 */
export async function runServe(config: ResolvedConfig, opts: ServeOptions): Promise<number> {
  let owner;
  try {
    owner = await openOwner(config, { logger: opts.logger });
  } catch (error) {
    if (isClaudePodError(error) && error.code === ErrorCodes.STATE_DIR_BUSY) {
      opts.logger.info({ err: serializeError(error) }, 'another supervisor already serves this directory');
      return 0;
    }
    throw error;
  }
  opts.logger.info({ sessionsDir: config.sessionsDir }, 'serving');
  const idle = new Promise<void>((resolve) => {
    if (opts.idleExitMs <= 0) return;
    let idleSince = Date.now();
    const timer = setInterval(
      () => {
        const busy =
          owner.jobs().some((j) => j.status === 'pending' || j.status === 'running') ||
          (owner.control?.clients ?? 0) > 0;
        if (busy) idleSince = Date.now();
        else if (Date.now() - idleSince >= opts.idleExitMs) {
          clearInterval(timer);
          opts.logger.info('idle: no job and no client; exiting');
          resolve();
        }
      },
      Math.min(1_000, Math.max(50, opts.idleExitMs / 4)),
    );
  });
  await Promise.race([idle, opts.stop]);
  await owner.close();
  opts.logger.info('stopped');
  return 0;
}
