import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadCliConfig } from '../setup/config-file.js';
import { createLogger } from '../shared/logger.js';
import { openCliSupervisor } from '../supervisor/cli-handle.js';
import type { SupervisorApi } from '../supervisor/api.js';

/**
 * The job commands share one shape: parse `--config` plus the command's own options, open a
 * supervisor on the configured directories (which re-attaches to running jobs), act, and close
 * it again without stopping any job.
 */
export async function withSupervisor(
  argv: string[],
  options: ParseArgsConfig['options'],
  act: (
    sup: SupervisorApi,
    values: Record<string, string | boolean | undefined>,
    positionals: string[],
  ) => Promise<number>,
  how: { startsJobs?: boolean } = {},
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, json: { type: 'boolean' }, ...options },
  });
  const config = await loadCliConfig(values.config as string | undefined);
  const supervisor = await openCliSupervisor(config, {
    logger: createLogger({ level: 'warn' }),
    startsJobs: how.startsJobs === true,
  });
  try {
    return await act(supervisor, values as Record<string, string | boolean | undefined>, positionals);
  } finally {
    await supervisor.close();
  }
}

export function print(value: unknown, json: boolean, text: () => string): void {
  process.stdout.write((json ? JSON.stringify(value, null, 2) : text()) + '\n');
}
