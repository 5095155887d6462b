/**
 * Other processes on the same state directory, as users have them: the built CLI
 * (`node dist/cli/main.js`, each command its own process), a gateway-style owner
 * (test/fixtures/owner-child.mts), and the registry file read straight from disk, so a test can
 * watch jobs without opening any supervisor or client.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { JobRecord } from '../../../src/supervisor/records.js';
import { loadRegistry } from '../../../src/supervisor/registry-file.js';
import { statePaths } from '../../../src/supervisor/state-paths.js';

export const CLI = resolve('dist/cli/main.js');

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** A CLI bound to one config file and environment; every call is a new process, bounded in time. */
export async function cliFor(config: object, dir: string, env: Record<string, string>) {
  const configFile = join(dir, 'config.json');
  await mkdir(dir, { recursive: true });
  await writeFile(configFile, JSON.stringify(config));
  const run = async (args: string[], timeoutMs = 60_000): Promise<CliResult> => {
    const r = await execa(process.execPath, [CLI, ...args, '--config', configFile], {
      env: { ...process.env, ...env },
      reject: false,
      stdin: 'ignore',
      timeout: timeoutMs,
      cwd: dir,
    });
    return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  return {
    configFile,
    run,
    /** Runs a `--json` command and parses its stdout; throws with stderr when it failed. */
    async json<T>(args: string[], timeoutMs?: number): Promise<T> {
      const r = await run([...args, '--json'], timeoutMs);
      if (r.exitCode !== 0) throw new Error(`claude-pod ${args[0]} exited ${r.exitCode}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
  };
}

/**
 * The jobs as they are on disk (no supervisor opened), read as the supervisor reads them: the
 * registry document and the settled jobs' own files. Empty when there is none yet.
 */
export async function registryJobs(sessionsDir: string): Promise<Record<string, JobRecord>> {
  try {
    return (await loadRegistry(statePaths(sessionsDir, join(sessionsDir, 'unused-workspaces')))).state.jobs;
  } catch {
    return {};
  }
}

/** Polls `get` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  get: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A job as the registry on disk says, once `pred` holds for it. */
export const jobOnDisk = (
  sessionsDir: string,
  jobId: string,
  pred: (job: JobRecord) => boolean,
  timeoutMs: number,
): Promise<JobRecord> =>
  until(
    `job ${jobId} on disk`,
    async () => {
      const job = (await registryJobs(sessionsDir))[jobId];
      return job && pred(job) ? job : undefined;
    },
    timeoutMs,
  );

/** The pid of the process holding the state directory's lock, or null. */
export function lockHolderPid(sessionsDir: string): number | null {
  try {
    const text = readFileSync(join(sessionsDir, 'supervisor.lock'), 'utf8');
    const pid = text.trim().startsWith('{') ? (JSON.parse(text) as { pid: number }).pid : Number(text);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface OwnerChild {
  child: ResultPromise;
  lines: Array<Record<string, unknown>>;
  waitFor(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A gateway-style owner of the directory in its own process (test/fixtures/owner-child.mts). */
export function spawnOwner(
  config: object,
  opts: { runtime?: object; prompt?: string },
  env: Record<string, string>,
): OwnerChild {
  const child = execa(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve('test/fixtures/owner-child.mts'),
      JSON.stringify(config),
      JSON.stringify(opts),
    ],
    { env: { ...process.env, ...env }, reject: false, buffer: false, stdin: 'ignore' },
  );
  const lines: Array<Record<string, unknown>> = [];
  let pending = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(pending.slice(0, nl)) as Record<string, unknown>);
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  void child.then(() => (exited = true));
  return {
    child,
    lines,
    waitFor: (pred, timeoutMs) =>
      until(
        'a line from the owner process',
        () => {
          const found = lines.find(pred);
          if (!found && exited) throw new Error(`the owner process exited: ${stderr.slice(-2000)}`);
          return found;
        },
        timeoutMs,
        25,
      ),
    async kill(signal = 'SIGKILL') {
      child.kill(signal);
      await child;
    },
  };
}
