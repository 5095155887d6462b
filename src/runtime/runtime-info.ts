import type { RuntimeSpec } from '../shared/protocol.js';

export type RuntimeKind = 'podman' | 'docker';
export type CgroupVersion = 'v1' | 'v2' | 'unknown';

/** Which resource limits the engine says it can enforce for its containers. */
export interface LimitSupport {
  memory: boolean;
  cpu: boolean;
  pids: boolean;
}

/** What the supervisor, setup and doctor know about the container runtime on this host. */
export interface RuntimeInfo {
  kind: RuntimeKind;
  /** Absolute path of the runtime's CLI. */
  command: string;
  version: string;
  /** The OCI runtime passed with `--runtime` (podman only), or null for the runtime's default. */
  ociRuntime: string | null;
  rootless: boolean;
  cgroupVersion: CgroupVersion;
  /** Default log driver as the runtime reports it (podman: k8s-file, journald, …). */
  logDriver: string | null;
  /** Global flags that every command needs on this host (e.g. `--runtime runc`). */
  globalArgs: string[];
  /** Environment the client needs beyond the host's basics (CONTAINER_HOST, DOCKER_HOST, …). */
  env?: Record<string, string>;
  /**
   * What the engine reports it can limit (podman: the cgroup controllers it may use — none for
   * rootless on cgroups v1; docker: `info`'s MemoryLimit/CpuCfsQuota/PidsLimit). Absent: unknown.
   */
  limits?: LimitSupport;
}

export function toRuntimeSpec(info: RuntimeInfo): RuntimeSpec {
  return {
    kind: info.kind,
    command: info.command,
    globalArgs: [...info.globalArgs],
    ...(info.env ? { env: { ...info.env } } : {}),
    ...(info.rootless ? { rootless: true } : {}),
  };
}
