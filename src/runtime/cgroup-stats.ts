/**
 * A container's metrics read straight from its cgroup files, as `podman stats` itself does, but
 * without starting a process per sample. That matters beyond the saved CPU: starting a process
 * from the host (fork) stalls every thread of it while the kernel copies its page tables, so a
 * `stats` process per job every few seconds was the largest source of event-loop delay on the
 * gateway's main thread (bench/: p99 ~9 ms at 32 jobs, ~1 ms without it).
 *
 * The cgroup is found from the container's main process (`/proc/<pid>/cgroup`) and accepted only
 * if its path names the container's id: rootless podman on cgroups v1 puts containers in the
 * user's own cgroup, and there the caller falls back to the runtime's `stats` command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerEngine, StatsSample } from './engine.js';

export interface CgroupStatsOptions {
  procRoot?: string;
  cgroupRoot?: string;
}

/** cgroup v1 reports "no limit" as a huge page-aligned number. */
const V1_UNLIMITED = 2 ** 62;

interface Files {
  memoryUsage: string;
  memoryLimit: string;
  memoryStat: string;
  /** cgroup v1: cpuacct.usage (ns); v2: cpu.stat (usage_usec). */
  cpu: string;
  pids: string | null;
  v2: boolean;
}

export class CgroupStats {
  private lastCpuNs: number;
  private lastAt: number;

  private constructor(
    private readonly files: Files,
    /** When the container started (ms): the first sample's CPU share is averaged from there. */
    startedAt: number,
  ) {
    this.lastCpuNs = 0;
    this.lastAt = startedAt;
  }

  /** The container's cgroup, or null when it has none of its own or its files are unreadable. */
  static open(
    pid: number,
    containerId: string,
    startedAt: number,
    options: CgroupStatsOptions = {},
  ): CgroupStats | null {
    const procRoot = options.procRoot ?? '/proc';
    const cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
    if (!Number.isInteger(pid) || pid <= 0 || !/^[0-9a-f]{12,64}$/.test(containerId)) return null;
    let table: string;
    try {
      table = readFileSync(join(procRoot, String(pid), 'cgroup'), 'utf8');
    } catch {
      return null;
    }
    const files = locate(table, containerId, cgroupRoot);
    if (!files) return null;
    const stats = new CgroupStats(files, startedAt);
    return stats.read() === null ? null : stats;
  }

  /** One sample; null once the cgroup is gone (the container ended). */
  sample(now: number): StatsSample | null {
    const r = this.read();
    if (!r) return null;
    const elapsedNs = (now - this.lastAt) * 1e6;
    const cpuPercent = elapsedNs > 0 ? Math.max(0, ((r.cpuNs - this.lastCpuNs) / elapsedNs) * 100) : 0;
    this.lastCpuNs = r.cpuNs;
    this.lastAt = now;
    return {
      cpuPercent: Math.round(cpuPercent * 100) / 100,
      memoryBytes: r.memoryBytes,
      memoryLimitBytes: r.memoryLimitBytes,
      pids: r.pids,
    };
  }

  private read(): {
    cpuNs: number;
    memoryBytes: number;
    memoryLimitBytes: number | null;
    pids: number | null;
  } | null {
    const f = this.files;
    try {
      const usage = Number(readFileSync(f.memoryUsage, 'utf8').trim());
      const limitText = readFileSync(f.memoryLimit, 'utf8').trim();
      const limit = limitText === 'max' ? null : Number(limitText);
      const stat = keyValues(readFileSync(f.memoryStat, 'utf8'));
      // Like `podman stats` and `docker stats`: the page cache that could be dropped is not use.
      const inactive = (f.v2 ? stat.inactive_file : stat.total_inactive_file) ?? 0;
      const cpuText = readFileSync(f.cpu, 'utf8');
      const cpuNs = f.v2 ? (keyValues(cpuText).usage_usec ?? 0) * 1000 : Number(cpuText.trim());
      let pids: number | null = null;
      if (f.pids) {
        try {
          pids = Number(readFileSync(f.pids, 'utf8').trim());
        } catch {
          pids = null;
        }
      }
      if (!Number.isFinite(usage) || !Number.isFinite(cpuNs)) return null;
      return {
        cpuNs,
        memoryBytes: Math.max(0, usage - inactive),
        memoryLimitBytes: limit === null || !Number.isFinite(limit) || limit >= V1_UNLIMITED ? null : limit,
        pids,
      };
    } catch {
      return null;
    }
  }
}

function keyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value !== undefined) out[key] = Number(value);
  }
  return out;
}

/** The stat files of the cgroup in a `/proc/<pid>/cgroup` table, if the path names the container. */
function locate(table: string, containerId: string, root: string): Files | null {
  const short = containerId.slice(0, 12);
  const v1 = new Map<string, { dir: string; path: string }>();
  let v2Path: string | null = null;
  for (const line of table.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, hierarchy, controllers, path] = match as unknown as [string, string, string, string];
    if (hierarchy === '0' && controllers === '') v2Path = path;
    for (const controller of controllers.split(',')) {
      if (controller) v1.set(controller, { dir: controllers, path });
    }
  }
  const owns = (path: string) => path.includes(short);
  const memory = v1.get('memory');
  const cpuacct = v1.get('cpuacct');
  if (memory && cpuacct) {
    if (!owns(memory.path) || !owns(cpuacct.path)) return null;
    const pids = v1.get('pids');
    return {
      memoryUsage: join(root, memory.dir, memory.path, 'memory.usage_in_bytes'),
      memoryLimit: join(root, memory.dir, memory.path, 'memory.limit_in_bytes'),
      memoryStat: join(root, memory.dir, memory.path, 'memory.stat'),
      cpu: join(root, cpuacct.dir, cpuacct.path, 'cpuacct.usage'),
      pids: pids && owns(pids.path) ? join(root, pids.dir, pids.path, 'pids.current') : null,
      v2: false,
    };
  }
  if (v2Path !== null && owns(v2Path)) {
    const dir = join(root, v2Path);
    return {
      memoryUsage: join(dir, 'memory.current'),
      memoryLimit: join(dir, 'memory.max'),
      memoryStat: join(dir, 'memory.stat'),
      cpu: join(dir, 'cpu.stat'),
      pids: join(dir, 'pids.current'),
      v2: true,
    };
  }
  return null;
}

/**
 * The cgroup of a running container, looked up by name: `'not-running'` while it is not running
 * (not started yet, or gone), null when it runs without a cgroup of its own. The first sample's
 * CPU share is averaged from the container's own start time (a re-attached container started
 * long before its new worker); `fallbackStart` is used when the runtime does not report one.
 */
export async function openContainerCgroup(
  engine: Pick<ContainerEngine, 'inspect'>,
  name: string,
  fallbackStart: number,
): Promise<CgroupStats | null | 'not-running'> {
  const state = await engine.inspect(name);
  if (!state?.running || state.pid === null) return 'not-running';
  const since = Date.parse(state.startedAt ?? '');
  return CgroupStats.open(state.pid, state.id, Number.isFinite(since) ? since : fallbackStart);
}
