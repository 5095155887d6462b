/** A SupervisorApi stand-in for the watcher: output grows as a test appends to it; events on demand. */
import { EventEmitter } from 'eventemitter3';
import type { WatchApi } from '../../../../src/cli/live/watch-job.js';
import type { JobStatus, SessionInfo, SupervisorEvents } from '../../../../src/supervisor/api.js';
import { jobStatus, sessionInfo } from '../../tools/fake-supervisor.js';

export class FakeWatchApi extends EventEmitter<SupervisorEvents> implements WatchApi {
  bytes = Buffer.alloc(0);
  job: JobStatus;
  reads: Array<{ offset: number; limit: number | undefined }> = [];
  sessionList: SessionInfo[];

  constructor(
    /** Serve at most this many bytes per page (smaller than the follower asks for). */
    private readonly pageBytes = 64,
    job: Partial<JobStatus> = {},
  ) {
    super();
    this.job = jobStatus(job);
    this.sessionList = [sessionInfo({ workspaceDir: '/nonexistent/claude-pod-test' })];
  }

  append(text: string): void {
    this.bytes = Buffer.concat([this.bytes, Buffer.from(text)]);
    this.job = { ...this.job, outputSize: this.bytes.length };
  }

  progress(over: Partial<JobStatus> = {}): void {
    this.job = { ...this.job, ...over };
    this.emit('job:progress', this.job);
  }

  end(over: Partial<JobStatus>, emit = true): void {
    this.job = { ...this.job, endedAt: '2026-01-01T00:00:09.000Z', ...over };
    if (emit) this.emit('job:end', this.job);
  }

  status(jobId: string): JobStatus {
    if (jobId !== this.job.jobId) throw new Error(`no job ${jobId}`);
    return this.job;
  }

  sessions(): SessionInfo[] {
    return this.sessionList;
  }

  async output(jobId: string, opts: { offset?: number; limit?: number } = {}) {
    const offset = opts.offset ?? 0;
    this.reads.push({ offset, limit: opts.limit });
    // Never split a UTF-8 character, like the real reader.
    let end = Math.min(this.bytes.length, offset + Math.min(opts.limit ?? 65536, this.pageBytes));
    while (end < this.bytes.length && (this.bytes[end]! & 0xc0) === 0x80) end++;
    const content = this.bytes.toString('utf8', offset, end);
    return {
      jobId,
      status: this.job.status,
      content,
      offset,
      nextOffset: end,
      size: this.bytes.length,
      hasMore: end < this.bytes.length,
    };
  }
}
