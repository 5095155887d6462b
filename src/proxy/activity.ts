import { utimes, writeFile } from 'node:fs/promises';
import { activityFile, type ProxyPaths } from './paths.js';

/**
 * Moves a job's activity file's mtime forward while bytes flow through its API exchanges, at most
 * once per `everyMs`: a model reply can stream for minutes while Claude Code prints nothing, and the
 * job's idle watchdog reads this mtime as activity. The file lives outside anything a container
 * mounts. One `utimes` per job per second at most, never two at once.
 */
export class ActivityTouch {
  private readonly last = new Map<string, number>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly paths: ProxyPaths,
    private readonly everyMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Bytes moved for `jobId` just now. Cheap when called for every chunk. */
  touch(jobId: string): void {
    const now = this.now();
    const last = this.last.get(jobId);
    if ((last !== undefined && now - last < this.everyMs) || this.busy.has(jobId)) return;
    this.last.set(jobId, now);
    this.busy.add(jobId);
    void this.write(jobId, now).finally(() => this.busy.delete(jobId));
  }

  forget(jobId: string): void {
    this.last.delete(jobId);
  }

  private async write(jobId: string, now: number): Promise<void> {
    const file = activityFile(this.paths, jobId);
    const at = new Date(now);
    try {
      await utimes(file, at, at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return;
      // The client creates it at grant; a job re-attached after its file was removed gets a new one.
      await writeFile(file, '', { mode: 0o600, flag: 'a' }).catch(() => undefined);
      await utimes(file, at, at).catch(() => undefined);
    }
  }
}
