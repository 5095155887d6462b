import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ResolvedConfig } from '../shared/config.js';
import type { Check } from './checks.js';

/** AppArmor: available on the host, and required when the config names a profile. */
export async function apparmorCheck(
  config: ResolvedConfig,
  path = '/sys/module/apparmor/parameters/enabled',
): Promise<Check> {
  let enabled = false;
  try {
    enabled = (await readFile(path, 'utf8')).trim().toUpperCase().startsWith('Y');
  } catch {
    enabled = false;
  }
  const label = 'AppArmor';
  if (config.apparmorProfile && !enabled) {
    return {
      id: 'apparmor',
      label,
      status: 'fail',
      value: `not available, but apparmorProfile is "${config.apparmorProfile}"`,
      fix: 'set "apparmorProfile" to "" or run on a kernel with AppArmor enabled',
    };
  }
  const value = enabled
    ? `available${config.apparmorProfile ? `, profile "${config.apparmorProfile}"` : ' (no profile configured)'}`
    : 'not available on this kernel';
  return { id: 'apparmor', label, status: 'info', value };
}

/** Which authentication a job could use. Only presence is reported, never a value. */
export async function authCheck(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Check> {
  const found: string[] = [];
  if (env.ANTHROPIC_API_KEY) found.push('ANTHROPIC_API_KEY is set');
  if (env.CLAUDE_CODE_OAUTH_TOKEN) found.push('CLAUDE_CODE_OAUTH_TOKEN is set');
  try {
    const s = await stat(config.credentialsPath);
    if (s.isFile()) found.push(`credentials file ${config.credentialsPath}`);
  } catch {
    // absent
  }
  return found.length
    ? { id: 'auth', label: 'authentication', status: 'ok', value: found.join('; ') }
    : {
        id: 'auth',
        label: 'authentication',
        status: 'warn',
        value: 'none found',
        fix: `set ANTHROPIC_API_KEY or log in with Claude Code so that ${config.credentialsPath} exists`,
      };
}

async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** A directory we write to: writable if it exists, or creatable (its nearest existing parent writable). */
export async function writableDirCheck(id: string, label: string, path: string): Promise<Check> {
  const existing = await nearestExisting(path);
  try {
    const s = await stat(existing);
    if (!s.isDirectory()) throw new Error(`${existing} is not a directory`);
    await access(existing, constants.W_OK | constants.X_OK);
    const value = existing === path ? `${path} (writable)` : `${path} (will be created under ${existing})`;
    return { id, label, status: 'ok', value };
  } catch (error) {
    return {
      id,
      label,
      status: 'fail',
      value: `${path} is not writable (${(error as Error).message})`,
      fix: `make ${existing} writable for this user, or point "${id}" in the config elsewhere`,
    };
  }
}
