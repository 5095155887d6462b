import { LABEL_OWNER } from '../runtime/labels.js';
import { listContainersByLabel, removeContainer } from '../runtime/container-cli.js';
import type { RuntimeSpec } from '../shared/protocol.js';
import type { JobRecord } from './records.js';

export interface ReconcilePlan {
  /** Running containers (or finished, not yet finalised) of unfinished jobs: follow them again. */
  attach: JobRecord[];
  /** Jobs that never got a container: start them. */
  run: JobRecord[];
  /** Jobs whose container is gone: they can only fail. */
  lost: JobRecord[];
  /** Containers of ours that no unfinished job owns: removed. */
  orphans: string[];
}

/**
 * What a starting supervisor finds: every unfinished job in the registry is matched against the
 * containers that carry our owner label. Containers are found by label, never assumed.
 */
export async function planReconcile(
  rt: RuntimeSpec,
  ownerId: string,
  jobs: JobRecord[],
): Promise<ReconcilePlan> {
  const containers = await listContainersByLabel(rt, `${LABEL_OWNER}=${ownerId}`);
  const names = new Set(containers.map((c) => c.name));
  const plan: ReconcilePlan = { attach: [], run: [], lost: [], orphans: [] };
  const wanted = new Set<string>();
  for (const job of jobs) {
    if (job.status !== 'pending' && job.status !== 'running') continue;
    if (names.has(job.containerName)) {
      plan.attach.push(job);
      wanted.add(job.containerName);
    } else if (job.status === 'pending') {
      plan.run.push(job);
    } else {
      plan.lost.push(job);
    }
  }
  for (const c of containers) if (!wanted.has(c.name)) plan.orphans.push(c.name);
  await Promise.all(plan.orphans.map((name) => removeContainer(rt, name)));
  return plan;
}
