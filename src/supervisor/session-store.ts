import { chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ClaudePodError, ErrorCodes, sessionNotFound } from '../shared/errors.js';
import type { RegistryState, SessionRecord } from './records.js';
import { newSessionId, validateSessionId } from './session-ids.js';

export interface SessionInfo {
  sessionId: string;
  ageSeconds: number;
  lastActivitySecondsAgo: number;
  messageCount: number;
  activeJob: { jobId: string; status: string } | null;
  claudeSessionId: string | null;
  workspaceDir: string;
  createdAt: string;
  lastActivityAt: string;
}

/**
 * Sessions: a workspace under workspacesDir and a state directory under sessionsDir, both named
 * by the validated session id (so nothing is ever created outside the two directories).
 */
export class SessionStore {
  constructor(
    private readonly state: RegistryState,
    private readonly dirs: { sessionsDir: string; workspacesDir: string; containerUid: number | null },
  ) {}

  get(sessionId: string): SessionRecord | undefined {
    return Object.hasOwn(this.state.sessions, sessionId) ? this.state.sessions[sessionId] : undefined;
  }

  require(sessionId: string): SessionRecord {
    const session = this.get(sessionId);
    if (!session) throw sessionNotFound(sessionId);
    return session;
  }

  all(): SessionRecord[] {
    return Object.values(this.state.sessions);
  }

  /** The session a start() continues, or a new one. A caller's unknown id starts a new session of that name. */
  async open(requested: string | undefined, now: number): Promise<SessionRecord> {
    const sessionId = requested === undefined ? newSessionId() : validateSessionId(requested);
    const existing = this.get(sessionId);
    if (existing) {
      if (existing.activeJobId) {
        throw new ClaudePodError(
          ErrorCodes.SESSION_BUSY,
          `Session ${sessionId} already has a job in progress (${existing.activeJobId}); wait for it to finish or cancel it`,
          { details: { sessionId, jobId: existing.activeJobId } },
        );
      }
      await this.ensureDirs(existing);
      return existing;
    }
    const session: SessionRecord = {
      sessionId,
      createdAt: now,
      lastActivityAt: now,
      workspaceDir: join(this.dirs.workspacesDir, sessionId),
      createdWorkspace: false,
      stateDir: join(this.dirs.sessionsDir, sessionId),
      claudeSessionId: null,
      messageCount: 0,
      activeJobId: null,
      jobIds: [],
    };
    session.createdWorkspace = await this.ensureDirs(session);
    this.state.sessions[sessionId] = session;
    return session;
  }

  /** Creates the session's directories; returns whether the workspace was created now. */
  private async ensureDirs(session: SessionRecord): Promise<boolean> {
    const created = (await mkdir(session.workspaceDir, { recursive: true })) !== undefined;
    const claudeDir = join(session.stateDir, 'claude');
    await mkdir(join(session.stateDir, 'jobs'), { recursive: true });
    const claudeCreated = (await mkdir(claudeDir, { recursive: true })) !== undefined;
    // Rootful runtimes map the container user 1:1: let it write its workspace and transcripts.
    const uid = this.dirs.containerUid;
    if (uid !== null) {
      if (created) await chown(session.workspaceDir, uid, uid);
      if (claudeCreated) await chown(claudeDir, uid, uid);
    }
    return created;
  }

  async remove(session: SessionRecord): Promise<void> {
    delete this.state.sessions[session.sessionId];
    await rm(session.stateDir, { recursive: true, force: true });
    if (session.createdWorkspace) await rm(session.workspaceDir, { recursive: true, force: true });
  }

  info(session: SessionRecord, now: number, activeStatus: string | null): SessionInfo {
    return {
      sessionId: session.sessionId,
      ageSeconds: Math.round((now - session.createdAt) / 1000),
      lastActivitySecondsAgo: Math.round((now - session.lastActivityAt) / 1000),
      messageCount: session.messageCount,
      activeJob:
        session.activeJobId && activeStatus ? { jobId: session.activeJobId, status: activeStatus } : null,
      claudeSessionId: session.claudeSessionId,
      workspaceDir: session.workspaceDir,
      createdAt: new Date(session.createdAt).toISOString(),
      lastActivityAt: new Date(session.lastActivityAt).toISOString(),
    };
  }
}
