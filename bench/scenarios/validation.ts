/**
 * What validating a job's progress costs on the main thread, next to what receiving it costs: the
 * zod schema the supervisor checks every worker message with, the host report's envelope (checked
 * once per batch), and `structuredClone` (what a MessagePort does to every message) of the same
 * batch. Measured on a progress snapshot of the usual size (a 500-character tail, metrics, Claude's
 * report).
 */
import { performance } from 'node:perf_hooks';
import {
  emptyClaudeReport,
  hostReportSchema,
  workerMessageSchema,
  type HostReport,
  type WorkerMessage,
} from '../../src/shared/protocol.js';
import { round } from '../stats.js';

export interface ValidationResult {
  entries: number;
  /** µs per progress message. */
  zodPerMessageUs: number;
  envelopePerMessageUs: number;
  structuredClonePerMessageUs: number;
}

function progress(i: number): WorkerMessage {
  return {
    type: 'progress',
    jobId: `job-mx05u3ic-${i.toString(16).padStart(10, '0')}`,
    progress: {
      outputSize: 123_456 + i,
      tailOutput: '{"type":"user","message":{"content":"     1→// §0 — Überprüfung «日» ✓ 🚀\\n'
        .repeat(8)
        .slice(0, 500),
      firstOutputAt: 1_795_855_349_090,
      lastOutputAt: 1_795_855_349_090 + i,
      lines: 120 + i,
      events: 119 + i,
      truncated: false,
      activityState: 'active',
      metrics: {
        cpuPercent: 3.5,
        memoryBytes: 111_767_552,
        memoryLimitBytes: 536_870_912,
        pids: 15,
        sampledAt: 1_795_855_349_090,
        source: 'cgroup',
      },
      claude: { ...emptyClaudeReport(), sessionId: 'db6eba3f-9622-4332-9068-4e32797abbcc', model: 'claude' },
    },
  };
}

function timeUs(fn: () => unknown, reps: number): number {
  for (let i = 0; i < reps / 10; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return ((performance.now() - t0) / reps) * 1000;
}

export function runValidationCost(entries = 128, reps = 2000): ValidationResult {
  const batch: HostReport = {
    type: 'progressBatch',
    entries: Array.from({ length: entries }, (_, i) => ({ key: i, bytesIn: 1000 * i, message: progress(i) })),
  };
  const zod = timeUs(() => {
    for (const e of batch.entries) workerMessageSchema.safeParse(e.message);
  }, reps);
  const envelope = timeUs(() => hostReportSchema.safeParse(batch), reps);
  const clone = timeUs(() => structuredClone(batch), reps);
  return {
    entries,
    zodPerMessageUs: round(zod / entries, 2),
    envelopePerMessageUs: round(envelope / entries, 3),
    structuredClonePerMessageUs: round(clone / entries, 2),
  };
}
