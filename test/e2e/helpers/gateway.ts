/**
 * A real OpenClaw gateway for the end-to-end test: the `openclaw` CLI run under the cached
 * Node 24 (scripts/openclaw-env.mjs), isolated in one temporary folder (HOME, TMPDIR, state and
 * config), on a loopback port. No sleeps: readiness is `GET /health`, exits are awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';

export interface OpenclawEnvInfo {
  nodeBin: string;
  binDir: string;
  openclawDir: string;
  openclawBin: string;
  env: (base?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
}

export interface GatewayOptions {
  root: string;
  oc: OpenclawEnvInfo;
  port: number;
  gatewayToken: string;
  /** Extra environment for the gateway process (ANTHROPIC_API_KEY for the jobs). */
  env?: NodeJS.ProcessEnv;
}

/** Where the CLI writes its lock regardless of TMPDIR (removed after the test). */
export const OPENCLAW_LOCK_DIR = `/tmp/openclaw-state-locks-${process.getuid?.() ?? 0}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class Gateway {
  readonly configPath: string;
  readonly stateDir: string;
  readonly home: string;
  readonly logDir: string;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> | null = null;
  private runs = 0;

  constructor(readonly opts: GatewayOptions) {
    this.home = join(opts.root, 'home');
    this.stateDir = join(opts.root, 'state');
    this.configPath = join(opts.root, 'openclaw.json');
    this.logDir = join(opts.root, 'logs');
  }

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  async init(): Promise<void> {
    await mkdir(join(this.opts.root, 'tmp'), { recursive: true });
    await mkdir(this.home, { recursive: true });
    await mkdir(this.stateDir, { recursive: true });
    await mkdir(this.logDir, { recursive: true });
  }

  /**
   * The test's environment (certificates, proxies) minus what would leak the test runner or a
   * developer's own OpenClaw into the gateway, plus the isolated folders. npm (which openclaw
   * runs to install plugins) gets a cache that persists between runs, next to the cached openclaw.
   */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !/^(VITEST|NODE_ENV$|TEST$|OPENCLAW_|npm_|NODE_OPTIONS$)/i.test(key),
      ),
    );
    const base: NodeJS.ProcessEnv = {
      ...inherited,
      HOME: this.home,
      TMPDIR: join(this.opts.root, 'tmp'),
      OPENCLAW_STATE_DIR: this.stateDir,
      OPENCLAW_CONFIG_PATH: this.configPath,
      npm_config_cache: join(this.opts.oc.openclawDir, '..', 'npm-cache'),
      NO_COLOR: '1',
      ...this.opts.env,
      ...extra,
    };
    return this.opts.oc.env(base);
  }

  async readConfig(): Promise<Record<string, unknown>> {
    return JSON.parse(await readFile(this.configPath, 'utf8')) as Record<string, unknown>;
  }

  async writeConfig(config: Record<string, unknown>): Promise<void> {
    await writeFile(this.configPath, JSON.stringify(config, null, 2) + '\n');
  }

  /** Runs the openclaw CLI; throws with its output when it fails. */
  async cli(args: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    const result = await execa(this.opts.oc.nodeBin, [this.opts.oc.openclawBin, ...args], {
      env: this.env(),
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: opts.timeoutMs ?? 180_000,
      cwd: this.opts.root,
    });
    if (result.exitCode !== 0) {
      throw new Error(
        `openclaw ${args.join(' ')} exited ${result.exitCode}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
      );
    }
    return { stdout: result.stdout, stderr: result.stderr };
  }

  /**
   * A command line as a person types it (`bash -c`), in the test's root folder, with an
   * `openclaw` on PATH that runs the cached openclaw under the cached Node 24.
   */
  async shell(line: string, opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    const binDir = join(this.opts.root, 'bin');
    await mkdir(binDir, { recursive: true });
    const wrapper = join(binDir, 'openclaw');
    await writeFile(
      wrapper,
      `#!/bin/sh\nexec '${this.opts.oc.nodeBin}' '${this.opts.oc.openclawBin}' "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    const env = this.env();
    env.PATH = `${binDir}:${env.PATH ?? ''}`;
    const result = await execa('bash', ['-c', line], {
      env,
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: opts.timeoutMs ?? 180_000,
      cwd: this.opts.root,
    });
    if (result.exitCode !== 0) {
      throw new Error(
        `${line}\nexited ${result.exitCode}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
      );
    }
    return { stdout: result.stdout, stderr: result.stderr };
  }

  /** What the gateway logged: its current run's output, and its log file (all runs). */
  async logTexts(): Promise<[runOutput: string, logFile: string]> {
    const read = (path: string) => readFile(path, 'utf8').catch(() => '');
    return [
      await read(join(this.logDir, `gateway-run-${this.runs}.out`)),
      await read(join(this.logDir, 'gateway.log')),
    ];
  }

  async logText(): Promise<string> {
    return (await this.logTexts()).join('\n');
  }

  /** `openclaw gateway run` in the background; resolves once `/health` answers 200. */
  async start(timeoutMs = 180_000): Promise<void> {
    if (this.child) throw new Error('gateway already running');
    this.runs += 1;
    const log = createWriteStream(join(this.logDir, `gateway-run-${this.runs}.out`));
    const child = spawn(this.opts.oc.nodeBin, [this.opts.oc.openclawBin, 'gateway', 'run'], {
      env: this.env(),
      cwd: this.opts.root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    while (Date.now() < deadline) {
      if (exitCode !== undefined)
        throw new Error(`gateway exited with ${exitCode} before it was ready${await this.tail()}`);
      const healthy = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2_000) })
        .then((res) => res.status === 200)
        .catch(() => false);
      if (healthy) return;
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 250))]);
    }
    throw new Error(`gateway not healthy within ${timeoutMs} ms${await this.tail()}`);
  }

  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). */
  async stop(graceMs = 90_000): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    this.child = null;
    this.exited = null;
    if (!child || !exited || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async tail(lines = 60): Promise<string> {
    const text = await readFile(join(this.logDir, `gateway-run-${this.runs}.out`), 'utf8').catch(() => '');
    return `\n--- gateway output (last ${lines} lines)\n${text.split('\n').slice(-lines).join('\n')}`;
  }

  async invoke(tool: string, args: Record<string, unknown>): Promise<InvokeResponse> {
    const res = await fetch(`${this.url}/tools/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.opts.gatewayToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tool, args }),
      signal: AbortSignal.timeout(120_000),
    });
    const body = (await res.json()) as InvokeResponse;
    return { ...body, httpStatus: res.status };
  }

  async cleanup(): Promise<void> {
    await this.stop(10_000).catch(() => undefined);
    await rm(OPENCLAW_LOCK_DIR, { recursive: true, force: true });
  }
}

export interface ToolCallResult {
  content: Array<{ type: string; text: string }>;
  details: Record<string, unknown>;
}

export interface InvokeResponse {
  httpStatus: number;
  ok: boolean;
  result?: ToolCallResult;
  error?: { type?: string; message?: string };
}
