/**
 * The podman and docker engines, through their CLI clients (execa). Every call has a timeout and
 * a minimal environment: the client sees no ANTHROPIC_* variable, no proxy setting and nothing
 * else of the host's environment beyond what it needs to find its engine, plus the job's secret
 * variables for `run` (passed by name, so they are never in an argv).
 */
import { execa, type ResultPromise } from 'execa';
import type { RuntimeSpec } from '../shared/protocol.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  RuntimeCallError,
  type CallOptions,
  type ContainerEngine,
  type ContainerSpec,
  type ContainerState,
  type ContainerStatus,
  type ContainerStream,
  type ContainerSummary,
  type ExecSession,
  type KillResult,
  type StatsSample,
  type StreamEnd,
} from './engine.js';
import { kernelLogShowsOom } from './kernel-oom.js';
import { buildRunArgs } from './run-args.js';

const STDERR_TAIL_BYTES = 4096;
/**
 * How podman and docker say that a container does not exist, and nothing else: a broader pattern
 * ("not found") also matches a client that cannot work at all (podman: `default OCI runtime "x"
 * not found`), which would turn an unknown state into a wrong "absent".
 */
const NO_SUCH_CONTAINER = /no such container|no such object|no container with name or id/i;
const NO_SUCH_IMAGE = /image not known|no such image|no such object/i;
const NOT_RUNNING = /can only kill running containers|is not running/i;

/** Variables a container client may need from the host's environment; nothing else is passed. */
const CLIENT_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'DBUS_SESSION_BUS_ADDRESS',
  'CONTAINERS_CONF',
  'CONTAINERS_STORAGE_CONF',
  'CONTAINERS_REGISTRIES_CONF',
  'CONTAINER_HOST',
  'CONTAINER_CONNECTION',
  'CONTAINER_SSHKEY',
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_TLS_VERIFY',
];

/** The environment a runtime client runs with: the allowlist above, the spec's, then extras. */
export function clientEnv(
  rt: RuntimeSpec,
  extra: Record<string, string> = {},
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of CLIENT_ENV) {
    const value = from[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...(rt.env ?? {}), ...extra };
}

interface Exec {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  failedToSpawn: string | null;
}

export class CliEngine implements ContainerEngine {
  readonly kind: 'podman' | 'docker';
  readonly local: boolean;

  constructor(readonly rt: RuntimeSpec) {
    if (rt.kind === 'kubernetes') throw new Error('this should not happen: a CLI engine for kubernetes');
    this.kind = rt.kind;
    this.local = !(rt.env?.CONTAINER_HOST || rt.env?.DOCKER_HOST || rt.remote === true);
  }

  private async call(verb: string, args: string[], opts: CallOptions = {}): Promise<Exec> {
    const r = await execa(this.rt.command, [...this.rt.globalArgs, ...args], {
      reject: false,
      stdin: 'ignore',
      timeout: opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      stripFinalNewline: true,
      env: clientEnv(this.rt),
      extendEnv: false,
      maxBuffer: 64 * 1024 * 1024,
    });
    const failedToSpawn = r.exitCode === undefined && !r.timedOut ? String(r.shortMessage ?? verb) : null;
    if (r.timedOut)
      throw new RuntimeCallError(verb, `no answer within ${opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS} ms`, {
        timedOut: true,
      });
    if (failedToSpawn) throw new RuntimeCallError(verb, failedToSpawn, { spawn: true });
    return {
      exitCode: r.exitCode,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      timedOut: false,
      failedToSpawn: null,
    };
  }

  private fail(verb: string, r: Exec): never {
    throw new RuntimeCallError(verb, lastLine(r.stderr) || `exit code ${r.exitCode}`, {
      exitCode: r.exitCode,
    });
  }

  run(spec: ContainerSpec): ContainerStream {
    return this.stream(buildRunArgs(this.kind, spec), spec.secretEnv, spec.stdin);
  }

  follow(name: string): ContainerStream {
    return this.stream(['logs', '--follow', name], {}, undefined);
  }

  exec(name: string, command: string[]): ExecSession {
    const child = this.spawnClient(['exec', '--interactive', name, ...command], {}, 'pipe');
    if (!child.process.stdout || !child.process.stdin)
      throw new Error('this should not happen: an exec client without pipes');
    child.process.stdin.on('error', () => undefined);
    return {
      stdin: child.process.stdin,
      stdout: child.process.stdout,
      done: child.done,
      kill: () => void child.process.kill('SIGTERM'),
    };
  }

  /** A long-lived runtime client, streamed: its process and how it ended (never rejects). */
  private spawnClient(
    args: string[],
    secretEnv: Record<string, string>,
    stdin: 'pipe' | 'ignore',
  ): { process: ResultPromise; done: Promise<StreamEnd> } {
    const child: ResultPromise = execa(this.rt.command, [...this.rt.globalArgs, ...args], {
      stdin,
      buffer: false,
      reject: false,
      // The container outlives this process by design; the runtime client is ours to stop.
      cleanup: true,
      encoding: 'buffer',
      env: clientEnv(this.rt, secretEnv),
      extendEnv: false,
    });
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    const done: Promise<StreamEnd> = child.then(
      (r) => ({
        exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
        signal: r.signal ?? null,
        spawnError:
          r.failed && r.exitCode === undefined && !r.isTerminated ? String(r.shortMessage ?? '') : null,
        stderrTail,
      }),
      (error: unknown) => ({
        exitCode: null,
        signal: null,
        spawnError: error instanceof Error ? error.message : String(error),
        stderrTail,
      }),
    );
    return { process: child, done };
  }

  private stream(
    args: string[],
    secretEnv: Record<string, string>,
    stdin: string | undefined,
  ): ContainerStream {
    const { process: child, done } = this.spawnClient(
      args,
      secretEnv,
      stdin === undefined ? 'ignore' : 'pipe',
    );
    if (stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
    if (!child.stdout) throw new Error('this should not happen: a runtime client without stdout');
    return {
      stdout: child.stdout,
      done,
      detach: () => {
        child.kill('SIGTERM');
      },
    };
  }

  async inspect(name: string, opts?: CallOptions): Promise<ContainerState | null> {
    const r = await this.call('inspect', ['container', 'inspect', name], opts);
    if (r.exitCode !== 0) {
      if (NO_SUCH_CONTAINER.test(r.stderr)) return null;
      this.fail('inspect', r);
    }
    let first: RawInspect | undefined;
    try {
      first = (JSON.parse(r.stdout) as RawInspect[])[0];
    } catch (error) {
      throw new RuntimeCallError('inspect', `unreadable answer: ${(error as Error).message}`);
    }
    if (!first) return null;
    const state = first.State ?? {};
    const id = first.Id ?? '';
    const status = statusOf(state.Status, state.Running === true);
    // Some runtimes never set OOMKilled (podman 4.3 + runc on cgroups v1): for a container
    // SIGKILLed (137), the kernel's log is asked instead.
    const oomKilled =
      state.OOMKilled === true ||
      (status === 'exited' && state.ExitCode === 137 && this.local && (await kernelLogShowsOom(id)));
    return {
      id,
      status,
      running: status === 'running',
      exitCode: status === 'exited' && typeof state.ExitCode === 'number' ? state.ExitCode : null,
      oomKilled,
      pid: this.local && typeof state.Pid === 'number' && state.Pid > 0 ? state.Pid : null,
      startedAt: validTime(state.StartedAt),
      finishedAt: validTime(state.FinishedAt),
      labels: first.Config?.Labels ?? {},
    };
  }

  async list(labels: Record<string, string>, opts?: CallOptions): Promise<ContainerSummary[]> {
    const filters = Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]);
    if (this.kind === 'docker') return this.listByInspect(filters, opts);
    const r = await this.call('ps', ['ps', '-a', ...filters, '--format', 'json'], opts);
    if (r.exitCode !== 0) this.fail('ps', r);
    const text = r.stdout.trim();
    if (!text) return [];
    let rows: Array<Record<string, unknown>>;
    try {
      rows = JSON.parse(text) as Array<Record<string, unknown>>;
    } catch (error) {
      throw new RuntimeCallError('ps', `unreadable answer: ${(error as Error).message}`);
    }
    return rows.map((row) => {
      const names = row.Names;
      const state = String(row.State ?? '').toLowerCase();
      return {
        name: Array.isArray(names) ? String(names[0]) : String(names ?? ''),
        id: String(row.Id ?? ''),
        status: statusOf(state, false),
        labels: (row.Labels as Record<string, string> | null) ?? {},
      };
    });
  }

  /**
   * docker's `ps` joins labels into one comma-separated string (a value holding a comma cannot be
   * told apart) and its `--format json` needs docker 23+: ids from `ps`, the rest from `inspect`.
   */
  private async listByInspect(filters: string[], opts?: CallOptions): Promise<ContainerSummary[]> {
    const ps = await this.call('ps', ['ps', '-a', '-q', '--no-trunc', ...filters], opts);
    if (ps.exitCode !== 0) this.fail('ps', ps);
    const ids = ps.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (ids.length === 0) return [];
    const r = await this.call('inspect', ['container', 'inspect', ...ids], opts);
    // A container removed between the two calls is simply not listed.
    const onlyGone = r.stderr.split('\n').every((l) => !l.trim() || NO_SUCH_CONTAINER.test(l));
    if (r.exitCode !== 0 && !onlyGone) this.fail('inspect', r);
    let rows: RawInspect[];
    try {
      rows = JSON.parse(r.stdout || '[]') as RawInspect[];
    } catch (error) {
      throw new RuntimeCallError('inspect', `unreadable answer: ${(error as Error).message}`);
    }
    return rows.map((row) => ({
      name: String(row.Name ?? '').replace(/^\//, ''),
      id: row.Id ?? '',
      status: statusOf(row.State?.Status, row.State?.Running === true),
      labels: row.Config?.Labels ?? {},
    }));
  }

  async kill(name: string, signal: string, opts?: CallOptions): Promise<KillResult> {
    const r = await this.call('kill', ['kill', `--signal=${signal}`, name], opts);
    if (r.exitCode === 0) return 'signalled';
    if (NOT_RUNNING.test(r.stderr)) return 'not-running';
    if (NO_SUCH_CONTAINER.test(r.stderr)) return 'absent';
    this.fail('kill', r);
  }

  async remove(name: string, opts?: CallOptions): Promise<void> {
    const args = this.kind === 'podman' ? ['rm', '-f', '-t', '0', name] : ['rm', '-f', name];
    const r = await this.call('rm', args, opts);
    if (r.exitCode === 0 || NO_SUCH_CONTAINER.test(r.stderr)) return;
    this.fail('rm', r);
  }

  async stats(name: string, opts: CallOptions = { timeoutMs: 10_000 }): Promise<StatsSample | null> {
    let r: Exec;
    try {
      // docker before 23 prints the word "json" for `--format json`.
      const format = this.kind === 'docker' ? '{{json .}}' : 'json';
      r = await this.call('stats', ['stats', '--no-stream', '--format', format, name], opts);
    } catch {
      return null;
    }
    if (r.exitCode !== 0) return null;
    return parseStats(r.stdout);
  }

  async imageExists(image: string, opts?: CallOptions): Promise<boolean> {
    const r = await this.call('image inspect', ['image', 'inspect', '--format', '{{.Id}}', image], opts);
    if (r.exitCode === 0) return true;
    if (NO_SUCH_IMAGE.test(r.stderr)) return false;
    this.fail('image inspect', r);
  }
}

interface RawInspect {
  State?: {
    Status?: string;
    Running?: boolean;
    ExitCode?: number;
    OOMKilled?: boolean;
    Pid?: number;
    StartedAt?: string;
    FinishedAt?: string;
  };
  Id?: string;
  Name?: string;
  Config?: { Labels?: Record<string, string> | null };
}

/** podman and docker spell states differently (podman: configured/initialized/stopped). */
export function statusOf(raw: unknown, running: boolean): ContainerStatus {
  const s = String(raw ?? '').toLowerCase();
  if (running || s === 'running' || s === 'stopping' || s.startsWith('up')) return 'running';
  if (s === 'created' || s === 'configured' || s === 'initialized') return 'created';
  if (s === 'exited' || s === 'stopped' || s === 'dead' || s.startsWith('exited')) return 'exited';
  if (s === 'paused') return 'paused';
  if (s === 'removing') return 'removing';
  return 'unknown';
}

/** Zero times ("0001-01-01…") mean "never". */
function validTime(value: string | undefined): string | null {
  if (!value || value.startsWith('0001-01-01')) return null;
  return value;
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .slice(-1)[0]
      ?.trim()
      .slice(0, 500) ?? ''
  );
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "151.2MB" or "1.5GiB" → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*([\d.]+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return 0;
  const unit = (m[2] ?? 'b').toLowerCase() || 'b';
  return Math.round(Number(m[1]) * (UNITS[unit] ?? 1));
}

export function parseStats(stdout: string): StatsSample | null {
  try {
    const text = stdout.trim();
    const parsed = JSON.parse(text.startsWith('[') ? text : `[${text.split('\n')[0]}]`) as Array<
      Record<string, unknown>
    >;
    const row = parsed[0];
    if (!row) return null;
    const cpu = parseFloat(String(row.cpu_percent ?? row.CPUPerc ?? row.CPU ?? '0').replace('%', '')) || 0;
    const memUsage = String(row.mem_usage ?? row.MemUsage ?? '');
    const [used, limit] = memUsage.split('/').map((s) => s.trim());
    const pidsRaw = row.pids ?? row.PIDs ?? row.PIDS;
    return {
      cpuPercent: cpu,
      memoryBytes: used ? parseSize(used) : 0,
      memoryLimitBytes: limit ? parseSize(limit) : null,
      pids: pidsRaw === undefined ? null : Number(pidsRaw),
    };
  } catch {
    return null;
  }
}
