/**
 * TEMPORARY, until the supervisor rewrite lands: today's `Supervisor` class lacks `info()` and
 * returns only `{removedSessions}` from `cleanup()`. This wraps it into the `SupervisorApi` the
 * CLI and the tools program against. Delete it (and its two callers' `toSupervisorApi`) once
 * `createSupervisor()` returns a `SupervisorApi` itself.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import type { ResolvedConfig } from '../shared/config.js';
import type {
  CleanupResult,
  OutputPage,
  StartInput,
  StartResult,
  SupervisorApi,
  SupervisorEvents,
  SupervisorInfo,
  WaitOptions,
} from '../supervisor/api.js';
import type { JobStatus } from '../supervisor/api.js';
import { readHooksToken } from '../supervisor/notifier.js';
import type { SessionInfo } from '../supervisor/api.js';
import type { Supervisor } from '../supervisor/supervisor.js';

const EVENTS = ['job:start', 'job:running', 'job:progress', 'job:end', 'session:removed', 'error'] as const;

class SupervisorCompat extends EventEmitter<SupervisorEvents> implements SupervisorApi {
  constructor(
    private readonly inner: Supervisor,
    private readonly notifications: SupervisorInfo['notifications'],
  ) {
    super();
    for (const name of EVENTS) {
      inner.on(name, (...args: unknown[]) =>
        (this.emit as (e: string, ...a: unknown[]) => boolean)(name, ...args),
      );
    }
  }

  start(input: StartInput): Promise<StartResult> {
    return this.inner.start(input);
  }
  status(jobId: string): JobStatus {
    return this.inner.status(jobId);
  }
  jobs(): JobStatus[] {
    return this.inner.jobs();
  }
  output(jobId: string, opts?: { offset?: number; limit?: number }): Promise<OutputPage> {
    return this.inner.output(jobId, opts);
  }
  cancel(jobId: string, _opts?: WaitOptions): Promise<JobStatus> {
    return this.inner.cancel(jobId);
  }
  sessions(): SessionInfo[] {
    return this.inner.sessions();
  }
  close(opts?: { cancelRunning?: boolean } & WaitOptions): Promise<void> {
    return this.inner.close(opts?.cancelRunning === undefined ? {} : { cancelRunning: opts.cancelRunning });
  }

  info(): SupervisorInfo {
    return {
      role: 'owner',
      ownerPid: process.pid,
      sessionsDir: this.inner.config.sessionsDir,
      version: 'unknown',
      notifications: this.notifications,
    };
  }

  /** Measures the workspaces of the sessions that may go, then reports what did go. */
  async cleanup(opts: { olderThanSeconds?: number } = {}): Promise<CleanupResult> {
    const before = new Map(
      this.inner
        .sessions()
        .filter((s) => !s.activeJob)
        .map((s) => [s.sessionId, s.workspaceDir] as const),
    );
    const sizes = new Map<string, number>();
    for (const [id, dir] of before) sizes.set(id, await directoryBytes(dir));
    const { removedSessions } = await this.inner.cleanup(opts);
    const removed: CleanupResult['removed'] = [];
    for (const sessionId of removedSessions) {
      const workspaceDir = before.get(sessionId) ?? '';
      const workspaceDeleted = workspaceDir !== '' && !(await exists(workspaceDir));
      removed.push({
        sessionId,
        workspaceDir,
        workspaceDeleted,
        bytesFreed: workspaceDeleted ? (sizes.get(sessionId) ?? 0) : 0,
      });
    }
    return { removedSessions, removed, bytesFreed: removed.reduce((sum, r) => sum + r.bytesFreed, 0) };
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(full);
    else total += (await lstat(full).catch(() => null))?.size ?? 0;
  }
  return total;
}

export async function toSupervisorApi(inner: Supervisor, config: ResolvedConfig): Promise<SupervisorApi> {
  const token = config.hooksToken || (await readHooksToken(config.openclawConfigPath));
  const enabled = Boolean(token && config.notifyWebhookUrl);
  return new SupervisorCompat(inner, { enabled, url: enabled ? config.notifyWebhookUrl : null });
}
