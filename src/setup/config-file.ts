import { readFile } from 'node:fs/promises';
import { parseConfig, type ConfigInput, type ResolvedConfig } from '../shared/config.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

const PLUGIN_IDS = ['claude-pod', 'claude-code'];

/**
 * The config input in a CLI `--config` file, as given (defaults not applied): the plugin config
 * itself, or a whole openclaw.json (then `plugins.entries["claude-pod" | "claude-code"].config`).
 */
export async function readCliConfigInput(path: string | undefined): Promise<ConfigInput> {
  if (!path) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ClaudePodError(
      ErrorCodes.INVALID_CONFIG,
      `Cannot read config ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const entries = (raw as { plugins?: { entries?: Record<string, { config?: unknown }> } })?.plugins?.entries;
  if (entries) {
    const id = PLUGIN_IDS.find((k) => entries[k]);
    return (id ? (entries[id]?.config ?? {}) : {}) as ConfigInput;
  }
  return raw as ConfigInput;
}

/** Config for the CLI: the defaults, or what a `--config` file sets (see readCliConfigInput). */
export async function loadCliConfig(path: string | undefined): Promise<ResolvedConfig> {
  return parseConfig(await readCliConfigInput(path));
}
