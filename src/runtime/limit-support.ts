import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import type { RuntimeInfo } from './runtime-info.js';

export type LimitName = 'memory' | 'CPU' | 'PID';

/**
 * The resource limits (`--memory`, `--cpus`, `--pids-limit`) this runtime would accept but not
 * enforce. Rootless podman on cgroups v1 is the known case: it ignores all three with a warning
 * and runs the container in the user's own cgroup. An engine that does not say is trusted here;
 * `doctor` measures inside a probe container either way.
 */
export function unenforcedLimits(runtime: RuntimeInfo): LimitName[] {
  const support = runtime.limits;
  if (!support) return [];
  const missing: LimitName[] = [];
  if (!support.memory) missing.push('memory');
  if (!support.cpu) missing.push('CPU');
  if (!support.pids) missing.push('PID');
  return missing;
}

/** Why, in the words a person can act on. */
export function whyUnenforced(runtime: RuntimeInfo): string {
  if (runtime.rootless && runtime.cgroupVersion === 'v1') {
    return `rootless ${runtime.kind} on cgroups v1 has no cgroup of its own to limit`;
  }
  if (runtime.rootless) return `the cgroup controllers are not delegated to this user`;
  return `${runtime.kind} reports it cannot enforce them`;
}

export const LIMITS_FIX =
  'run the engine rootful, or boot with cgroups v2 (systemd.unified_cgroup_hierarchy=1) and delegate the ' +
  'memory, cpu and pids controllers to the user';

/**
 * `requireLimits: true`: a job must not start where its limits would be ignored. Throws
 * LIMITS_NOT_ENFORCED naming the limits and why; returns when they are all enforced.
 */
export function assertLimitsEnforced(runtime: RuntimeInfo): void {
  const missing = unenforcedLimits(runtime);
  if (missing.length === 0) return;
  const list = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}` : missing[0];
  throw new ClaudePodError(
    ErrorCodes.LIMITS_NOT_ENFORCED,
    `requireLimits is set, but this runtime would not enforce the ${list} limit${missing.length > 1 ? 's' : ''} ` +
      `(${whyUnenforced(runtime)}); the job was not started. Fix: ${LIMITS_FIX}; or set requireLimits to false.`,
    {
      details: {
        missing,
        runtime: runtime.kind,
        rootless: runtime.rootless,
        cgroupVersion: runtime.cgroupVersion,
      },
    },
  );
}
