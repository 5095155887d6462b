/**
 * What a job watcher feeds: output as it is read, status snapshots, the end. Three kinds:
 * `human` (a live terminal view, or plain lines when piped), `json` (NDJSON events) and `raw`
 * (the stream-json bytes untouched).
 */
import type { JobStatus } from '../../supervisor/api.js';
import type { ChangedFiles } from './workspace-changes.js';

export interface JobEnd {
  filesChanged: ChangedFiles | null;
  /** Details of the job's error that the hint uses (the image of IMAGE_NOT_FOUND). */
  errorDetails?: { image?: unknown };
}

export interface JobView {
  /** A line of the CLI's own (what it started, how to reattach). */
  message(text: string): void;
  /** Output text as read, in order; lines may span chunks. */
  chunk(text: string): void;
  progress(status: JobStatus): void;
  end(status: JobStatus, end: JobEnd): void;
  /** Stop drawing (and show `note` where the status line was, e.g. a question), then start again. */
  pause(note?: string): void;
  resume(): void;
  close(): void;
}

export type ViewMode = 'human' | 'json' | 'raw';
