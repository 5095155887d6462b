/**
 * `claude-pod serve` as a daemon: started on demand by a CLI command that finds no owner of the
 * state directory, so every job always has a supervisor running its watchdogs and sending its
 * notification. It exits by itself once it has had no job and no client for a while.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConfigInput, ResolvedConfig } from '../shared/config.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { packageRoot } from '../shared/paths.js';
import { SupervisorClient } from './control/client.js';
import { readLockHolder } from './state-lock.js';
import { statePaths } from './state-paths.js';

const START_TIMEOUT_MS = 30_000;

/** How to run the claude-pod CLI: the built one, or the TypeScript source through tsx. */
export function cliCommand(): { command: string; args: string[] } {
  const built = join(packageRoot, 'dist', 'cli', 'main.js');
  if (existsSync(built)) return { command: process.execPath, args: [built] };
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return {
    command: process.execPath,
    args: ['--import', loader, join(packageRoot, 'src', 'cli', 'main.ts')],
  };
}

export const serveLogFile = (sessionsDir: string): string => join(sessionsDir, 'serve.log');
export const serveConfigFile = (sessionsDir: string): string => join(sessionsDir, 'serve-config.json');

/** The config as the daemon should read it back (the user's values, paths already absolute). */
function configInput(config: ResolvedConfig): ConfigInput {
  const { resolved: _resolved, ...rest } = config;
  return rest;
}

/**
 * Makes sure an owner serves the state directory: when none holds it, starts `claude-pod serve`
 * detached (with this process's environment: the credentials it would have used) and waits until
 * its control socket answers. Several callers racing are fine: one daemon wins the lock, the
 * others exit at once.
 */
export async function ensureOwner(
  config: ResolvedConfig,
  opts: { idleExitSeconds?: number } = {},
): Promise<void> {
  const paths = statePaths(config.sessionsDir, config.workspacesDir);
  if (await readLockHolder(paths.lock)) return;
  await mkdir(config.sessionsDir, { recursive: true, mode: 0o700 });
  const configFile = serveConfigFile(config.sessionsDir);
  await writeFile(configFile, JSON.stringify(configInput(config)), { mode: 0o600 });
  const log = openSync(serveLogFile(config.sessionsDir), 'a', 0o600);
  const { command, args } = cliCommand();
  const extra = opts.idleExitSeconds === undefined ? [] : ['--idle-exit', String(opts.idleExitSeconds)];
  const child = spawn(command, [...args, 'serve', '--config', configFile, ...extra], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: config.sessionsDir,
    env: process.env,
  });
  closeSync(log);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const probe = await SupervisorClient.connect(paths.controlSocket, { connectTimeoutMs: 1_000 });
      await probe.close();
      return;
    } catch {
      // not yet
    }
    if (exited !== null && !(await readLockHolder(paths.lock))) {
      throw new ClaudePodError(
        ErrorCodes.OWNER_UNREACHABLE,
        `claude-pod serve exited (code ${exited}) before it served ${config.sessionsDir}: ${logTail(config.sessionsDir)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new ClaudePodError(
        ErrorCodes.OWNER_UNREACHABLE,
        `claude-pod serve did not answer within ${START_TIMEOUT_MS / 1000} s: ${logTail(config.sessionsDir)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function logTail(sessionsDir: string): string {
  try {
    return readFileSync(serveLogFile(sessionsDir), 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}
