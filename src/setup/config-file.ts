import { readFile } from 'node:fs/promises';
import { parseConfig, type ResolvedConfig } from '../shared/config.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

const PLUGIN_IDS = ['claude-pod', 'claude-code'];

/**
 * Config for the CLI: the defaults, or a JSON file holding either the plugin config itself or a
 * whole openclaw.json (then `plugins.entries["claude-pod" | "claude-code"].config` is used).
 */
export async function loadCliConfig(path: string | undefined): Promise<ResolvedConfig> {
  if (!path) return parseConfig({});
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
    return parseConfig(id ? (entries[id]?.config ?? {}) : {});
  }
  return parseConfig(raw);
}
