/**
 * The one line that stays at the bottom of the live view: state, elapsed time, turns, tokens,
 * cost and activity. Pure: the caller passes the clock and the spinner frame.
 */
import type { JobStatus } from '../../supervisor/api.js';
import type { Colors } from './colors.js';
import { formatCost, formatDuration, formatTokens } from './format.js';
import { truncate } from './sanitize.js';
import type { Tally } from './tally.js';

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

type Timing = Pick<JobStatus, 'status' | 'createdAt' | 'startedAt' | 'endedAt' | 'elapsedSeconds'>;

/** Seconds the job has run (pending: waited), from its timestamps and the caller's clock. */
export function elapsedSeconds(job: Timing, now: number): number {
  const start = Date.parse(job.startedAt ?? job.createdAt);
  const end = job.endedAt ? Date.parse(job.endedAt) : now;
  return Number.isFinite(start) && Number.isFinite(end)
    ? Math.max(0, (end - start) / 1000)
    : job.elapsedSeconds;
}

export function statusLine(
  job: Timing & Pick<JobStatus, 'activityState'>,
  tally: Pick<Tally, 'turns' | 'tokens' | 'costUsd' | 'toolCalls'>,
  opts: { now: number; frame: number; colors: Colors; width: number | null },
): string {
  const c = opts.colors;
  const spinner =
    job.status === 'pending' || job.status === 'running' ? SPINNER[opts.frame % SPINNER.length]! : '•';
  const parts = [
    `${job.status === 'pending' ? 'queued' : job.status} ${formatDuration(elapsedSeconds(job, opts.now))}`,
    `${tally.turns} turn${tally.turns === 1 ? '' : 's'}`,
    `${formatTokens(tally.tokens.input + tally.tokens.output)} tokens`,
    `cost ${formatCost(tally.costUsd)}`,
    job.status === 'running' ? job.activityState : null,
  ].filter((p): p is string => p !== null);
  const plain = `${spinner} ${parts.join(' · ')}`;
  const fitted = opts.width === null ? plain : truncate(plain, Math.max(10, opts.width - 1));
  return c.dim(fitted);
}
