import { ENGINE_NAME } from '../shared/engine-config.js';
import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { ClaudePodError, ErrorCodes, serializeError } from '../shared/errors.js';
import type { JobState } from '../shared/protocol.js';
import { emptyProgress } from './job-machine.js';
import type { JobPhase, JobRecord, RegistryState, SessionRecord } from './records.js';
import { RegistrySerializer } from './registry-serializer.js';
import { validateJobId, validateSessionId } from './session-ids.js';
import type { StatePaths } from './state-paths.js';

/** Writes a file durably (atomic replace); injectable so tests can make writes fail. */
export type RegistryWriter = (path: string, data: string) => Promise<void>;

export const atomicWriter: RegistryWriter = (path, data) =>
  writeFileAtomic(path, data, { fsync: true, mode: 0o600 });

export const WRITE_RETRY_DELAYS_MS = [50, 250, 1000];

/**
 * The registry on disk: one JSON document replaced atomically (temp file, fsync, rename), so a
 * crash at any instant leaves either the old or the new state, never a torn one. At most one
 * write is in flight and at most one more is queued behind it (it will serialise the state as it
 * is then), so a burst of changes costs at most two writes; progress updates are debounced.
 * A failed write is retried a few times; then it rejects with STATE_WRITE_FAILED and the
 * supervisor fails the jobs concerned — it is never an unhandled rejection.
 */
export class RegistryFile {
  private current: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly serializer = new RegistrySerializer();

  constructor(
    readonly path: string,
    private readonly snapshot: () => RegistryState,
    private readonly writer: RegistryWriter = atomicWriter,
    /** Told about a debounced write that failed for good (nobody awaits those). */
    private readonly onBackgroundFailure: (error: ClaudePodError) => void = () => undefined,
    private readonly retryDelaysMs: readonly number[] = WRITE_RETRY_DELAYS_MS,
  ) {}

  /** Persist soon (progress updates): at most one write per `delayMs` from these. */
  soon(delayMs = 1000): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.write().catch((error: unknown) => this.onBackgroundFailure(toWriteError(error)));
    }, delayMs);
    this.timer.unref();
  }

  /** Persist now (state transitions); resolves once a write that began after this call is on disk. */
  now(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return this.write();
  }

  /** Waits for pending writes (a debounced one is written now); never rejects. */
  async flush(): Promise<void> {
    const pending = this.timer ? this.now() : (this.queued ?? this.current);
    await pending?.catch(() => undefined);
  }

  private write(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.current) {
      this.current = this.writeWithRetries().finally(() => {
        this.current = null;
      });
      return this.current;
    }
    const next = () => {
      this.queued = null;
      return this.write();
    };
    this.queued = this.current.then(next, next);
    return this.queued;
  }

  private async writeWithRetries(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writer(this.path, this.serializer.serialize(this.snapshot()));
        return;
      } catch (error) {
        const delay = this.retryDelaysMs[attempt];
        if (delay === undefined) throw toWriteError(error);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

function toWriteError(error: unknown): ClaudePodError {
  if (error instanceof ClaudePodError && error.code === ErrorCodes.STATE_WRITE_FAILED) return error;
  const { message } = serializeError(error);
  return new ClaudePodError(ErrorCodes.STATE_WRITE_FAILED, `Could not save the registry: ${message}`, {
    cause: error,
  });
}

export const emptyRegistry = (): RegistryState => ({ version: 2, sessions: {}, jobs: {} });

/**
 * Reads the registry. Ids are validated (an entry with an id that could name a path elsewhere is
 * dropped); paths are derived from ids, never read. A version 1 registry (paths stored, session
 * directories beside the registry) is migrated: its session directories move under `sessions/`.
 */
export async function loadRegistry(paths: StatePaths): Promise<{ state: RegistryState; dropped: string[] }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(paths.registry, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyRegistry(), dropped: [] };
    throw new ClaudePodError(
      ErrorCodes.INVALID_CONFIG,
      `The registry ${paths.registry} cannot be read: ${serializeError(error).message}`,
      { cause: error },
    );
  }
  const doc = (raw ?? {}) as { version?: unknown; sessions?: unknown; jobs?: unknown };
  const version = doc.version;
  if (version !== 1 && version !== 2)
    return { state: emptyRegistry(), dropped: ['(unknown registry version)'] };
  const state = emptyRegistry();
  const dropped: string[] = [];
  for (const [id, value] of Object.entries((doc.sessions ?? {}) as Record<string, unknown>)) {
    const session = readSession(id, value);
    if (session) state.sessions[id] = session;
    else dropped.push(`session ${JSON.stringify(id).slice(0, 80)}`);
  }
  for (const [id, value] of Object.entries((doc.jobs ?? {}) as Record<string, unknown>)) {
    const job = readJob(id, value);
    if (job && Object.hasOwn(state.sessions, job.sessionId)) state.jobs[id] = job;
    else dropped.push(`job ${JSON.stringify(id).slice(0, 80)}`);
  }
  if (version === 1) await moveV1SessionDirs(paths, Object.keys(state.sessions));
  return { state, dropped };
}

function validId(check: (v: unknown) => string, id: unknown): boolean {
  try {
    check(id);
    return true;
  } catch {
    return false;
  }
}

const num = (v: unknown, fallback: number | null): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : fallback;

function readSession(id: string, value: unknown): SessionRecord | null {
  const v = value as Partial<SessionRecord> | null;
  if (!v || typeof v !== 'object' || v.sessionId !== id || !validId(validateSessionId, id)) return null;
  return {
    sessionId: id,
    createdAt: num(v.createdAt, 0) ?? 0,
    lastActivityAt: num(v.lastActivityAt, 0) ?? 0,
    createdWorkspace: v.createdWorkspace === true,
    claudeSessionId: typeof v.claudeSessionId === 'string' ? v.claudeSessionId : null,
    messageCount: num(v.messageCount, 0) ?? 0,
    activeJobId:
      typeof v.activeJobId === 'string' && validId(validateJobId, v.activeJobId) ? v.activeJobId : null,
    jobIds: Array.isArray(v.jobIds) ? v.jobIds.filter((j): j is string => validId(validateJobId, j)) : [],
  };
}

const STATES: readonly JobState[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

function readJob(id: string, value: unknown): JobRecord | null {
  const v = value as Partial<JobRecord> | null;
  if (!v || typeof v !== 'object' || v.jobId !== id || !validId(validateJobId, id)) return null;
  if (typeof v.sessionId !== 'string' || typeof v.prompt !== 'string') return null;
  const status = STATES.includes(v.status as JobState) ? (v.status as JobState) : 'failed';
  // Version 1 had no phase: derive it from the status it had.
  const phase: JobPhase =
    v.phase ?? (status === 'pending' ? 'queued' : status === 'running' ? 'running' : 'ended');
  return {
    jobId: id,
    sessionId: v.sessionId,
    prompt: v.prompt,
    phase,
    status,
    cancelRequested: v.cancelRequested === true,
    resumeClaudeSessionId: typeof v.resumeClaudeSessionId === 'string' ? v.resumeClaudeSessionId : null,
    createdAt: num(v.createdAt, 0) ?? 0,
    launchedAt: num(v.launchedAt, num(v.startedAt, null)),
    startedAt: num(v.startedAt, null),
    endedAt: num(v.endedAt, null),
    exitCode: num(v.exitCode, null),
    error: v.error && typeof v.error === 'object' ? v.error : null,
    progress: v.progress && typeof v.progress === 'object' ? v.progress : emptyProgress(),
    notified: v.notified === true,
    ...(typeof v.engine === 'string' && ENGINE_NAME.test(v.engine) ? { engine: v.engine } : {}),
  };
}

async function moveV1SessionDirs(paths: StatePaths, sessionIds: string[]): Promise<void> {
  for (const id of sessionIds) {
    const old = join(paths.sessionsDir, id);
    try {
      if (!(await stat(old)).isDirectory()) continue;
    } catch {
      continue;
    }
    await rename(old, paths.sessionDir(id)).catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(paths.sessionsDir, 'sessions'), { recursive: true, mode: 0o700 });
      await rename(old, paths.sessionDir(id));
    });
  }
}
