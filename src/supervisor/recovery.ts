import { stat } from 'node:fs/promises';
import type { ContainerEngine, ContainerSummary } from '../runtime/engine.js';
import { LABEL_JOB, LABEL_OWNER } from '../runtime/labels.js';
import { serializeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Event } from './job-machine.js';
import type { JobRecord } from './records.js';
import type { StatePaths } from './state-paths.js';

export interface RecoveryDeps {
  engine: ContainerEngine;
  ownerId: string;
  paths: StatePaths;
  logger: Logger;
  /** Jobs that are not ended and that no worker follows, right now. */
  unfollowed(): JobRecord[];
  /** Whether a job is known and not ended (containers of other jobs are orphans). */
  isLive(jobId: string): boolean;
  send(event: Event): void;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** How long a `launching` job's container may still be on its way (a dead host's runtime client). */
  launchGraceMs: number;
}

/**
 * Matches jobs nobody follows against the containers the runtime lists with our owner label, and
 * turns what it finds into events: `containerFound`, `containerAbsent`. Nothing is concluded from
 * a listing that failed (it throws, and the caller retries later); a `launching` job whose
 * container is absent is looked for once more after a grace, since the runtime client of a host
 * that died may still be creating it. Containers that belong to no live job are removed.
 * Returns false when the runtime could not be asked.
 */
export async function reconcileOnce(deps: RecoveryDeps, only?: ReadonlySet<string>): Promise<boolean> {
  const wanted = (job: JobRecord) => !only || only.has(job.jobId);
  let listed: Map<string, ContainerSummary>;
  try {
    listed = await listOwned(deps);
  } catch (error) {
    deps.logger.warn({ err: serializeError(error) }, 'cannot list containers; recovery will try again');
    return false;
  }
  const lateLaunches: JobRecord[] = [];
  for (const job of deps.unfollowed().filter(wanted)) {
    const found = listed.get(job.jobId);
    if (found) deps.send({ type: 'containerFound', jobId: job.jobId, status: found.status, now: deps.now() });
    else if (job.phase === 'launching') lateLaunches.push(job);
    else
      deps.send({
        type: 'containerAbsent',
        jobId: job.jobId,
        hadOutput: await hasOutput(deps.paths, job),
        now: deps.now(),
      });
  }
  await removeOrphans(deps, listed);
  if (lateLaunches.length === 0) return true;
  await deps.sleep(deps.launchGraceMs);
  try {
    listed = await listOwned(deps);
  } catch (error) {
    deps.logger.warn({ err: serializeError(error) }, 'cannot list containers; recovery will try again');
    return false;
  }
  const still = new Set(deps.unfollowed().map((j) => j.jobId));
  for (const job of lateLaunches) {
    if (!still.has(job.jobId)) continue;
    const found = listed.get(job.jobId);
    if (found) deps.send({ type: 'containerFound', jobId: job.jobId, status: found.status, now: deps.now() });
    else
      deps.send({
        type: 'containerAbsent',
        jobId: job.jobId,
        hadOutput: await hasOutput(deps.paths, job),
        now: deps.now(),
      });
  }
  return true;
}

/** Our containers by job id (the job label; containers without one count as orphans). */
async function listOwned(deps: RecoveryDeps): Promise<Map<string, ContainerSummary>> {
  const rows = await deps.engine.list({ [LABEL_OWNER]: deps.ownerId });
  const byJob = new Map<string, ContainerSummary>();
  for (const row of rows) byJob.set(row.labels[LABEL_JOB] ?? `?${row.name}`, row);
  return byJob;
}

async function removeOrphans(deps: RecoveryDeps, listed: Map<string, ContainerSummary>): Promise<void> {
  const orphans = [...listed].filter(([jobId]) => !deps.isLive(jobId)).map(([, row]) => row.name);
  if (orphans.length === 0) return;
  deps.logger.info({ containers: orphans }, 'removing containers no live job owns');
  await Promise.all(
    orphans.map((name) =>
      deps.engine
        .remove(name)
        .catch((error: unknown) =>
          deps.logger.warn({ name, err: serializeError(error) }, 'could not remove an orphan container'),
        ),
    ),
  );
}

async function hasOutput(paths: StatePaths, job: JobRecord): Promise<boolean> {
  try {
    return (await stat(paths.outputFile(job.sessionId, job.jobId))).size > 0;
  } catch {
    return false;
  }
}
