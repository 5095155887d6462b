import { execa } from 'execa';

/**
 * Whether the kernel log records an OOM kill inside the container's memory cgroup.
 *
 * Podman 4.3 with runc on cgroups v1 reports `OOMKilled: false` even when the kernel killed the
 * container's process for memory (measured here); the kernel's own line names the cgroup,
 * `oom_memcg=/…/libpod-<id>` (podman) or `…/docker-<id>` (docker). Reading the kernel log needs
 * root; where it cannot be read this answers false and the job fails with its exit code instead.
 */
export async function kernelLogShowsOom(containerId: string): Promise<boolean> {
  if (!/^[0-9a-f]{12,64}$/.test(containerId)) return false;
  const r = await execa('dmesg', [], {
    reject: false,
    stdin: 'ignore',
    timeout: 5_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.exitCode !== 0) return false;
  return String(r.stdout)
    .split('\n')
    .some((line) => line.includes(containerId) && /oom/i.test(line));
}
