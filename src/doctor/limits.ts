/** Reading the resource limits a container actually got, from its own view of /sys/fs/cgroup. */
import { parseSize } from '../shared/sizes.js';

const UNLIMITED_V1 = 2 ** 62; // cgroups v1 reports "no limit" as a huge page-aligned number

/** Docker/podman size syntax ("512m", "2g", "1024") → bytes, as `--memory` reads it. */
export const parseMemorySize = parseSize;

/** Shell run inside the probe container; prints `key=value` lines for v1 or v2 layouts alike. */
export const PROBE_SCRIPT = [
  'cg=/sys/fs/cgroup',
  'if [ -f $cg/cgroup.controllers ]; then',
  '  echo "cgroup=v2"',
  '  echo "memory=$(cat $cg/memory.max 2>/dev/null)"',
  '  echo "cpu=$(cat $cg/cpu.max 2>/dev/null)"',
  '  echo "pids=$(cat $cg/pids.max 2>/dev/null)"',
  'else',
  '  echo "cgroup=v1"',
  '  echo "memory=$(cat $cg/memory/memory.limit_in_bytes 2>/dev/null)"',
  '  echo "cpu=$(cat $cg/cpu/cpu.cfs_quota_us 2>/dev/null) $(cat $cg/cpu/cpu.cfs_period_us 2>/dev/null)"',
  '  echo "pids=$(cat $cg/pids/pids.max 2>/dev/null)"',
  'fi',
  'echo "uid=$(id -u)"',
  // Who a file written to the workspace belongs to on the host (doctor stats it afterwards).
  'touch /workspace/.claude-pod-probe 2>/dev/null; echo "wrote=$?"',
  'echo "node=$(node --version 2>&1 | head -n1)"',
  'echo "claude=$(claude --version 2>&1 | head -n1)"',
  'sleep 1', // long enough for the doctor to find the probe's cgroup
].join('\n');

export function parseProbeOutput(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export interface LimitVerdict {
  enforced: boolean;
  /** What was measured, for people: "536870912 bytes (512 MiB)", "max", … */
  measured: string;
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;

export function memoryVerdict(raw: string | undefined, expected: string): LimitVerdict {
  const want = parseMemorySize(expected);
  if (!raw) return { enforced: false, measured: 'not readable' };
  if (raw === 'max') return { enforced: false, measured: 'max (no limit)' };
  const got = Number(raw);
  if (!Number.isFinite(got) || got >= UNLIMITED_V1) return { enforced: false, measured: `${raw} (no limit)` };
  return { enforced: got === want, measured: mib(got) };
}

/** v2 "100000 100000" or "max 100000"; v1 "<quota> <period>" with quota -1 = none. */
export function cpuVerdict(raw: string | undefined, expectedCpus: string): LimitVerdict {
  const [quota, period] = (raw ?? '').trim().split(/\s+/);
  if (!quota || !period) return { enforced: false, measured: 'not readable' };
  if (quota === 'max' || quota === '-1') return { enforced: false, measured: 'no quota' };
  const cpus = Number(quota) / Number(period);
  const want = Number(expectedCpus);
  return { enforced: Math.abs(cpus - want) < 0.01, measured: `${Number(cpus.toFixed(2))} CPU` };
}

export function pidsVerdict(raw: string | undefined, expected: number): LimitVerdict {
  if (!raw) return { enforced: false, measured: 'not readable' };
  if (raw === 'max') return { enforced: false, measured: 'max (no limit)' };
  return { enforced: Number(raw) === expected, measured: raw };
}
