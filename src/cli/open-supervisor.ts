/**
 * The one place a CLI command gets its supervisor: a `SupervisorApi` on the configured state
 * directory. Commands never see more than that interface, so they work unchanged when this
 * returns a client of another process that owns the directory (a gateway, `claude-pod serve`).
 * Heavy modules are imported here, lazily: `--help` and usage errors never load them.
 */
import type { ResolvedConfig } from '../shared/config.js';
import type { SupervisorApi } from '../supervisor/api.js';

export interface OpenOptions {
  /** The command starts jobs (today: no difference; with `serve`, it needs an owner that stays). */
  startsJobs?: boolean;
  env?: NodeJS.ProcessEnv;
}

export async function loadConfig(path: string | undefined): Promise<ResolvedConfig> {
  const { loadCliConfig } = await import('../setup/config-file.js');
  return loadCliConfig(path);
}

export async function openSupervisor(config: ResolvedConfig, opts: OpenOptions = {}): Promise<SupervisorApi> {
  const [{ createSupervisor }, { createLogger }, { toSupervisorApi }] = await Promise.all([
    import('../supervisor/create.js'),
    import('../shared/logger.js'),
    import('../tools/supervisor-compat.js'),
  ]);
  const supervisor = await createSupervisor(config, {
    logger: createLogger({ level: 'warn' }),
    ...(opts.env ? { env: opts.env } : {}),
  });
  return toSupervisorApi(supervisor, config);
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
