import { ClaudePodError, ErrorCodes, jobNotFound } from '../../../src/shared/errors.js';
import type { JobStatus } from '../../../src/supervisor/job-view.js';
import type { SessionInfo } from '../../../src/supervisor/session-view.js';
import type { ToolSupervisor } from '../../../src/tools/define.js';

export function jobStatus(overrides: Partial<JobStatus> = {}): JobStatus {
  return {
    jobId: 'job-1',
    sessionId: 'sess-1',
    status: 'running',
    elapsedSeconds: 12.3,
    outputSize: 2048,
    tailOutput: '...tail',
    lastOutputSecondsAgo: 1.5,
    activityState: 'active',
    metrics: {
      cpuPercent: 12,
      memoryBytes: 1_000_000,
      memoryLimitBytes: 536_870_912,
      pids: 9,
      sampledAt: 1,
      source: 'cgroup',
    },
    exitCode: null,
    error: null,
    errorCode: null,
    outputTruncated: false,
    linesCut: 0,
    engine: 'local',
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    endedAt: null,
    claude: {
      sessionId: null,
      model: null,
      numTurns: null,
      costUsd: null,
      durationMs: null,
      usage: null,
      result: null,
    },
    ...overrides,
  };
}

export function sessionInfo(overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    sessionId: 'sess-1',
    ageSeconds: 3700,
    lastActivitySecondsAgo: 65,
    messageCount: 2,
    activeJob: { jobId: 'job-1', status: 'running' },
    claudeSessionId: 'c0ffee',
    workspaceDir: '/w/sess-1',
    createdAt: '2026-01-01T00:00:00.000Z',
    lastActivityAt: '2026-01-01T01:00:00.000Z',
    ...overrides,
  };
}

/** An in-memory supervisor: jobs by id; `calls` records what the tools asked for. */
export class FakeSupervisor implements ToolSupervisor {
  jobs = new Map<string, JobStatus>();
  calls: Array<[string, unknown]> = [];
  content = '{"type":"system"}\n{"type":"result"}\n';
  sessionList: SessionInfo[] = [];
  removed: string[] = [];
  startError: unknown = null;
  notificationsEnabled = true;
  notificationUrl = 'http://127.0.0.1:18789/hooks/agent';

  async start(input: { prompt: string; sessionId?: string }) {
    this.calls.push(['start', input]);
    if (this.startError) throw this.startError;
    const job = jobStatus({ jobId: 'job-new', sessionId: input.sessionId ?? 'sess-new', status: 'pending' });
    this.jobs.set(job.jobId, job);
    return { jobId: job.jobId, sessionId: job.sessionId };
  }

  status(jobId: string): JobStatus {
    this.calls.push(['status', jobId]);
    const job = this.jobs.get(jobId);
    if (!job) throw jobNotFound(jobId);
    return job;
  }

  async output(jobId: string, opts: { offset?: number; limit?: number } = {}) {
    this.calls.push(['output', { jobId, ...opts }]);
    const job = this.status(jobId);
    const bytes = Buffer.from(this.content);
    const offset = opts.offset ?? 0;
    const end = Math.min(bytes.length, offset + (opts.limit ?? 65536));
    return {
      jobId,
      status: job.status,
      content: bytes.subarray(offset, end).toString(),
      offset,
      nextOffset: end,
      size: bytes.length,
      hasMore: end < bytes.length,
    };
  }

  async cancel(jobId: string): Promise<JobStatus> {
    this.calls.push(['cancel', jobId]);
    const job = this.status(jobId);
    const cancelled = {
      ...job,
      status: 'cancelled' as const,
      error: 'Job cancelled',
      errorCode: ErrorCodes.CANCELLED,
    };
    this.jobs.set(jobId, cancelled);
    return cancelled;
  }

  async cleanup() {
    this.calls.push(['cleanup', null]);
    const removed = this.removed.map((sessionId, i) => ({
      sessionId,
      workspaceDir: `/w/${sessionId}`,
      workspaceDeleted: i === 0,
      bytesFreed: i === 0 ? 2048 : 0,
    }));
    return {
      removedSessions: this.removed,
      removed,
      bytesFreed: removed.reduce((n, r) => n + r.bytesFreed, 0),
    };
  }

  info() {
    return {
      role: 'owner' as const,
      ownerPid: process.pid,
      sessionsDir: '/state',
      version: 'test',
      notifications: this.notificationsEnabled
        ? { enabled: true, url: this.notificationUrl }
        : { enabled: false, url: null },
    };
  }

  sessions(): SessionInfo[] {
    return this.sessionList;
  }
}

export const busy = () =>
  new ClaudePodError(ErrorCodes.SESSION_BUSY, 'Session sess-1 already has a job in progress (job-1)');
