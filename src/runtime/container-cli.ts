import { execa } from 'execa';
import type { RuntimeSpec } from '../shared/protocol.js';
import { kernelLogShowsOom } from './kernel-oom.js';

/** The runtime verbs the supervisor and workers use besides `run`: a narrow, CLI-backed client. */

export interface ContainerState {
  id: string;
  status: string;
  running: boolean;
  exitCode: number | null;
  oomKilled: boolean;
  /** The container's main process on the host, while it runs (0 or null otherwise). */
  pid: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  labels: Record<string, string>;
}

async function exec(rt: RuntimeSpec, args: string[], timeoutMs = 30_000) {
  return execa(rt.command, [...rt.globalArgs, ...args], {
    reject: false,
    stdin: 'ignore',
    timeout: timeoutMs,
    stripFinalNewline: true,
  });
}

/** `inspect` of one container, or null when no such container exists. */
export async function inspectContainer(rt: RuntimeSpec, name: string): Promise<ContainerState | null> {
  const r = await exec(rt, ['container', 'inspect', name]);
  if (r.exitCode !== 0) return null;
  try {
    const parsed = JSON.parse(String(r.stdout)) as Array<{
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
      Config?: { Labels?: Record<string, string> | null };
    }>;
    const first = parsed[0];
    if (!first) return null;
    const state = first.State ?? {};
    const id = first.Id ?? '';
    // Some runtimes never set OOMKilled (podman 4.3 + runc on cgroups v1): for a container
    // SIGKILLed (137), the kernel's log is asked instead.
    const oomKilled =
      state.OOMKilled === true ||
      (state.Running !== true && state.ExitCode === 137 && (await kernelLogShowsOom(id)));
    return {
      id,
      status: state.Status ?? 'unknown',
      running: state.Running === true,
      exitCode: typeof state.ExitCode === 'number' ? state.ExitCode : null,
      oomKilled,
      pid: typeof state.Pid === 'number' && state.Pid > 0 ? state.Pid : null,
      startedAt: state.StartedAt ?? null,
      finishedAt: state.FinishedAt ?? null,
      labels: first.Config?.Labels ?? {},
    };
  } catch {
    return null;
  }
}

/** Removes a container, killing it at once if it still runs. Missing containers are fine. */
export async function removeContainer(rt: RuntimeSpec, name: string): Promise<void> {
  const args = rt.kind === 'podman' ? ['rm', '-f', '-t', '0', name] : ['rm', '-f', name];
  await exec(rt, args);
}

export async function signalContainer(rt: RuntimeSpec, name: string, signal: string): Promise<boolean> {
  const r = await exec(rt, ['kill', `--signal=${signal}`, name]);
  return r.exitCode === 0;
}

/** Names of all containers carrying `label` (`key=value` or `key`), running or not. */
export async function listContainersByLabel(
  rt: RuntimeSpec,
  label: string,
): Promise<Array<{ name: string; labels: Record<string, string>; running: boolean }>> {
  const r = await exec(rt, ['ps', '-a', '--filter', `label=${label}`, '--format', 'json']);
  if (r.exitCode !== 0) return [];
  const text = String(r.stdout).trim();
  if (!text) return [];
  // podman prints one JSON array; docker prints one JSON object per line.
  const rows: Array<Record<string, unknown>> = text.startsWith('[')
    ? (JSON.parse(text) as Array<Record<string, unknown>>)
    : text.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  return rows.map((row) => {
    const names = row.Names;
    const name = Array.isArray(names) ? String(names[0]) : String(names ?? row.Name ?? '');
    const labelsRaw = row.Labels;
    const labels: Record<string, string> =
      typeof labelsRaw === 'string'
        ? Object.fromEntries(
            labelsRaw
              .split(',')
              .filter(Boolean)
              .map((kv) => {
                const i = kv.indexOf('=');
                return [kv.slice(0, i), kv.slice(i + 1)];
              }),
          )
        : ((labelsRaw as Record<string, string> | null) ?? {});
    const state = String(row.State ?? row.Status ?? '').toLowerCase();
    return { name, labels, running: state.startsWith('running') || state.startsWith('up') };
  });
}

export async function imageExists(rt: RuntimeSpec, image: string): Promise<boolean> {
  const r = await exec(rt, ['image', 'inspect', '--format', '{{.Id}}', image]);
  return r.exitCode === 0;
}

export interface StatsSample {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  pids: number | null;
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

/** One `stats --no-stream` sample, or null when the runtime cannot give one (rootless cgroups v1). */
export async function sampleStats(rt: RuntimeSpec, name: string): Promise<StatsSample | null> {
  const r = await exec(rt, ['stats', '--no-stream', '--format', 'json', name], 10_000);
  if (r.exitCode !== 0) return null;
  try {
    const text = String(r.stdout).trim();
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
