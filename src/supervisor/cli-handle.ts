import type { ResolvedConfig } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { SupervisorApi } from './api.js';
import { connectClient, createSupervisor } from './create.js';
import { ensureOwner } from './daemon.js';
import { loadRegistry } from './registry-file.js';
import { statePaths } from './state-paths.js';

/** How long a command waits for an owner to answer, and how often it looks at the lock meanwhile. */
const CONNECT_TIMEOUT_MS = 20_000;
const RECHECK_LOCK_MS = 2_000;

/**
 * The supervisor a CLI command talks to. Job commands are clients of whoever owns the state
 * directory (a gateway, a `serve` daemon). When nobody does, a command that starts jobs — or
 * finds unfinished ones that nobody supervises — starts `claude-pod serve` first, so no job is
 * ever left without its watchdogs; a read-only look at a directory with nothing running just
 * opens it in-process and closes it again. While it holds the directory, another command may
 * start a job through it (it serves the control socket like any owner): if jobs are unfinished
 * when it closes, it starts `serve` for them.
 */
export async function openCliSupervisor(
  config: ResolvedConfig,
  opts: { logger: Logger; startsJobs: boolean },
): Promise<SupervisorApi> {
  const paths = statePaths(config.sessionsDir, config.workspacesDir);
  const needsDaemon = opts.startsJobs || (await hasUnfinishedJobs(paths));
  if (!needsDaemon) {
    return createSupervisor(config, {
      logger: opts.logger,
      afterClose: async (owner) => {
        if (owner.jobs().some((j) => j.status === 'pending' || j.status === 'running')) {
          await ensureOwner(config);
        }
      },
    });
  }
  return connectToOwner(config);
}

/**
 * A client of the directory's owner, starting `serve` whenever nobody holds the directory. The
 * holder may not answer yet (still starting up) or ever (it failed while starting and then let
 * go): the lock is looked at again every couple of seconds, so a free directory gets a daemon.
 */
async function connectToOwner(config: ResolvedConfig): Promise<SupervisorApi> {
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    await ensureOwner(config);
    try {
      return await connectClient(config, {
        connectTimeoutMs: RECHECK_LOCK_MS,
        onOwnerGone: () => ensureOwner(config),
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

async function hasUnfinishedJobs(paths: ReturnType<typeof statePaths>): Promise<boolean> {
  try {
    const { state } = await loadRegistry(paths);
    return Object.values(state.jobs).some((j) => j.phase !== 'ended');
  } catch {
    return false;
  }
}
