/**
 * The one place a CLI command gets its supervisor: a `SupervisorApi` on the configured state
 * directory. Commands never see more than that interface, so they work unchanged when this
 * returns a client of another process that owns the directory (a gateway, `claude-pod serve`).
 * Heavy modules are imported here, lazily: `--help` and usage errors never load them.
 */
import type { ResolvedConfig } from '../shared/config.js';
import type { SupervisorApi } from '../supervisor/api.js';

export interface OpenOptions {
  /**
   * The command starts jobs: it needs an owner that stays after the command exits, so when
   * nobody owns the directory a `claude-pod serve` daemon is started and this is its client.
   */
  startsJobs?: boolean;
}

export async function loadConfig(path: string | undefined): Promise<ResolvedConfig> {
  const { loadCliConfig } = await import('../setup/config-file.js');
  return loadCliConfig(path);
}

export async function openSupervisor(config: ResolvedConfig, opts: OpenOptions = {}): Promise<SupervisorApi> {
  const [{ openCliSupervisor }, { createLogger }] = await Promise.all([
    import('../supervisor/cli-handle.js'),
    import('../shared/logger.js'),
  ]);
  return openCliSupervisor(config, {
    logger: createLogger({ level: 'warn' }),
    startsJobs: opts.startsJobs === true,
  });
}

/** Opens, acts, and closes again without stopping any job. */
export async function withSupervisor<T>(
  config: ResolvedConfig,
  act: (api: SupervisorApi) => Promise<T>,
  opts: OpenOptions = {},
): Promise<T> {
  const api = await openSupervisor(config, opts);
  try {
    return await act(api);
  } finally {
    await api.close();
  }
}
