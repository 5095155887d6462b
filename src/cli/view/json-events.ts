/**
 * `--json`: one JSON object per line for scripts. Each carries `event`, `jobId` and `time`;
 * text is Claude's own (JSON escapes every control character, so nothing is stripped). Pure.
 */
import type { JobStatus } from '../../supervisor/api.js';
import { cliHint } from './hints.js';
import { usageOf, type StreamLine } from './stream-line.js';
import type { Tally } from './tally.js';
import { elapsedSeconds } from './status-line.js';

export type JsonEvent = { event: string; jobId: string; time: string } & Record<string, unknown>;

const base = (event: string, jobId: string, now: number) => ({
  event,
  jobId,
  time: new Date(now).toISOString(),
});

export function streamLineEvents(line: StreamLine, jobId: string, now: number): JsonEvent[] {
  switch (line.kind) {
    case 'init':
      return [
        { ...base('init', jobId, now), model: line.model, claudeVersion: line.claudeVersion, cwd: line.cwd },
      ];
    case 'assistant':
      return line.blocks.flatMap((b): JsonEvent[] => {
        const sub = line.parentToolUseId === null ? {} : { parentToolUseId: line.parentToolUseId };
        if (b.kind === 'text') return [{ ...base('text', jobId, now), text: b.text, ...sub }];
        if (b.kind === 'tool')
          return [{ ...base('tool', jobId, now), name: b.name, detail: b.detail, toolUseId: b.id, ...sub }];
        return [];
      });
    case 'tool-results':
      return line.results
        .filter((r) => r.isError)
        .map((r) => ({ ...base('tool-error', jobId, now), toolUseId: r.toolUseId, text: r.text }));
    case 'note':
      return [{ ...base('note', jobId, now), text: line.text }];
    case 'result':
    case 'system':
    case 'ignored':
      return [];
  }
}

export function statusEvent(job: JobStatus, tally: Tally, now: number): JsonEvent {
  return {
    ...base('status', job.jobId, now),
    status: job.status,
    elapsedSeconds: Math.round(elapsedSeconds(job, now) * 10) / 10,
    turns: tally.turns,
    tokens: { ...tally.tokens },
    costUsd: tally.costUsd,
    activityState: job.activityState,
    outputSize: job.outputSize,
  };
}

export function endEvent(
  job: JobStatus,
  tally: Tally,
  filesChanged: { workspaceDir: string; files: string[]; more: number } | null,
  now: number,
  errorDetails?: { image?: unknown },
): JsonEvent {
  return {
    ...base('end', job.jobId, now),
    sessionId: job.sessionId,
    status: job.status,
    exitCode: job.exitCode,
    errorCode: job.errorCode,
    error: job.error,
    hint: job.error ? cliHint(job.errorCode, errorDetails) : null,
    durationSeconds: Math.round(elapsedSeconds(job, now) * 10) / 10,
    turns: job.claude.numTurns ?? tally.turns,
    tokens: usageOf(job.claude.usage) ?? { ...tally.tokens },
    costUsd: job.claude.costUsd ?? tally.costUsd,
    result: job.claude.result,
    filesChanged: filesChanged ? [...filesChanged.files] : null,
    filesChangedMore: filesChanged?.more ?? 0,
    workspaceDir: filesChanged?.workspaceDir ?? null,
  };
}
