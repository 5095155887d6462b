import { DEFAULT_ENGINE } from '../shared/engine-config.js';
import type { JobRecord } from './records.js';

/** An engine as placement sees it: its name and how many jobs it runs at once. */
export interface EngineSlot {
  name: string;
  maxConcurrentJobs: number;
}

interface PlacementState {
  readonly jobs: ReadonlyMap<string, JobRecord>;
  readonly downEngines?: ReadonlySet<string>;
}

/** Jobs already changed in the same transition (placed or ended there). */
interface Pending {
  job(id: string): JobRecord | undefined;
}

/**
 * Where a new job goes: the reachable engine with the fewest unfinished jobs among those with a
 * free slot (its `maxConcurrentJobs`); when every one is full, the one with the shortest queue
 * past its slots. Ties go to the engine listed first. Pure: it reads only the jobs and which
 * engines are down. Null when no engine is reachable.
 */
export function placeJob(
  state: PlacementState,
  config: { maxConcurrentJobs: number; engines?: readonly EngineSlot[] },
  pending?: Pending,
): string | null {
  const engines = config.engines ?? [{ name: DEFAULT_ENGINE, maxConcurrentJobs: config.maxConcurrentJobs }];
  const load = new Map(engines.map((e) => [e.name, 0]));
  for (const stored of state.jobs.values()) {
    const job = pending?.job(stored.jobId) ?? stored;
    if (job.phase === 'ended') continue;
    const name = job.engine ?? DEFAULT_ENGINE;
    if (load.has(name)) load.set(name, load.get(name)! + 1);
  }
  let best: { name: string; full: boolean; score: number } | null = null;
  for (const e of engines) {
    if (state.downEngines?.has(e.name)) continue;
    const active = load.get(e.name)!;
    const full = active >= e.maxConcurrentJobs;
    const score = full ? active - e.maxConcurrentJobs : active;
    if (!best || (best.full && !full) || (best.full === full && score < best.score)) {
      best = { name: e.name, full, score };
    }
  }
  return best?.name ?? null;
}
