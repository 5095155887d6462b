/**
 * The lines printed when a job has ended: how it ended, how long, cost, tokens, exit code, the
 * error with what to do about it, and the files the job changed in its workspace. Pure.
 */
import type { JobStatus } from '../../supervisor/api.js';
import type { Colors } from './colors.js';
import { formatCost, formatDuration, formatTokens } from './format.js';
import { cliHint } from './hints.js';
import { sanitizeLine, sanitizeText, truncate } from './sanitize.js';
import { usageOf } from './stream-line.js';
import type { Tally } from './tally.js';
import { elapsedSeconds } from './status-line.js';

export interface SummaryInput {
  job: JobStatus;
  tally: Tally;
  /** Files created or modified in the workspace since the job started (relative paths). */
  filesChanged: { workspaceDir: string; files: string[]; more: number } | null;
  /** Claude's final answer was already shown as text (do not print it twice). */
  resultShown: boolean;
  /** Extra error details (the image of IMAGE_NOT_FOUND) for the hint. */
  errorDetails?: { image?: unknown };
  now: number;
  colors: Colors;
}

const MARK = { completed: '✓', failed: '✗', cancelled: '■', running: '…', pending: '…' } as const;
const RESULT_LINES = 6;

export function summaryLines(input: SummaryInput): string[] {
  const { job, tally, colors: c } = input;
  const usage = usageOf(job.claude.usage) ?? tally.tokens;
  const turns = job.claude.numTurns ?? tally.turns;
  const cost = job.claude.costUsd ?? tally.costUsd;
  const color = job.status === 'completed' ? c.green : job.status === 'failed' ? c.red : c.yellow;
  const head = [
    `${job.status} ${job.status === 'completed' ? 'in' : 'after'} ${formatDuration(elapsedSeconds(job, input.now))}`,
    `${turns} turn${turns === 1 ? '' : 's'}`,
    `${formatTokens(usage.input + usage.output)} tokens (${formatTokens(usage.input)} in, ${formatTokens(usage.output)} out)`,
    `cost ${formatCost(cost)}`,
    `exit ${job.exitCode ?? '–'}`,
  ];
  const lines = [color(c.bold(`${MARK[job.status]} ${head.join(' · ')}`))];
  const result = job.claude.result;
  if (result && !input.resultShown) {
    const text = sanitizeText(result).trim().split('\n');
    lines.push(`  result: ${text[0] ?? ''}`);
    for (const more of text.slice(1, RESULT_LINES)) lines.push(`          ${more}`);
    if (text.length > RESULT_LINES) lines.push(c.dim(`          … ${text.length - RESULT_LINES} more lines`));
  }
  if (job.error) {
    lines.push(c.red(`  error [${job.errorCode ?? 'UNKNOWN'}]: ${sanitizeLine(job.error)}`));
    const hint = cliHint(job.errorCode, input.errorDetails);
    if (hint) lines.push(`  hint: ${hint.replaceAll('JOB', job.jobId)}`);
  }
  if (input.filesChanged) {
    const { files, more, workspaceDir } = input.filesChanged;
    const list = files.length ? files.map((f) => truncate(sanitizeLine(f), 80)).join(', ') : 'none';
    lines.push(`  files changed: ${list}${more ? ` and ${more} more` : ''}`);
    lines.push(c.dim(`  workspace: ${workspaceDir}`));
  }
  lines.push(
    c.dim(
      `  job ${job.jobId} · session ${job.sessionId} (continue it: claude-pod run --session ${job.sessionId} "…")`,
    ),
  );
  return lines;
}
