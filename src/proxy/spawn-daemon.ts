import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import type { JobLimits } from './limits.js';
import type { ProxyPaths } from './paths.js';
import type { ProxyOptions } from './proxy-options.js';
import { ENV, EXIT_PEER_RUNNING, READY_FD_ENV, type ProxyCredential } from './settings.js';

export interface SpawnOptions {
  stateDir: string;
  upstream: string;
  credential: ProxyCredential;
  limits: JobLimits;
  options: ProxyOptions;
  idleExitMs?: number;
  orphanExitMs?: number;
  drainMs?: number;
  startTimeoutMs?: number;
}

/** How to run the daemon: the built `main.js`, or `main.ts` through tsx when running from source. */
export function daemonCommand(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    return { command: process.execPath, args: ['--import', loader, join(dirname(here), 'main.ts')] };
  }
  return { command: process.execPath, args: [join(dirname(here), 'main.js')] };
}

const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', ENV.logLevel];

/**
 * Starts a daemon detached (it outlives us) and waits for its one-line report on fd 3: its pid
 * once it serves, or `peer-running` when a daemon with the same configuration already does.
 */
export async function spawnDaemon(
  options: SpawnOptions,
  paths: ProxyPaths,
): Promise<number | 'peer-running'> {
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASSED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  env[ENV.stateDir] = resolve(options.stateDir);
  env[ENV.upstream] = options.upstream;
  env[ENV.credentialKind] = options.credential.kind;
  env[ENV.credential] = options.credential.value;
  env[ENV.limits] = JSON.stringify(options.limits);
  env[ENV.options] = JSON.stringify(options.options);
  if (options.idleExitMs !== undefined) env[ENV.idleExitMs] = String(options.idleExitMs);
  if (options.drainMs !== undefined) env[ENV.drainMs] = String(options.drainMs);
  if (options.orphanExitMs !== undefined) env[ENV.orphanExitMs] = String(options.orphanExitMs);
  env[READY_FD_ENV] = '3';

  const { command, args } = daemonCommand();
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    cwd: paths.dir,
    env,
  });
  const pipe = child.stdio[3];
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  try {
    const message = await new Promise<Record<string, unknown>>((resolvePromise, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (value: Record<string, unknown> | Error): void => {
        clearTimeout(timer);
        if (value instanceof Error) reject(value);
        else resolvePromise(value);
      };
      child.once('error', done);
      child.once('exit', (code) => {
        if (code === EXIT_PEER_RUNNING) done({ error: 'peer-running' });
        else done(new Error(`exited with code ${code} before listening`));
      });
      pipe?.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const nl = text.indexOf('\n');
        if (nl === -1) return;
        try {
          done(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
        } catch (error) {
          done(error as Error);
        }
      });
      pipe?.on('error', () => undefined);
    });
    if (message.ready === true && typeof message.pid === 'number') return message.pid;
    if (message.error === 'peer-running') return 'peer-running';
    throw new Error(String(message.error ?? 'unexpected answer'));
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw new ClaudePodError(
      ErrorCodes.INTERNAL,
      `API proxy failed to start: ${(error as Error).message} (log: ${paths.logFile})`,
      { cause: error, details: { logFile: paths.logFile } },
    );
  } finally {
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    pipe?.destroy();
    child.unref();
  }
}
