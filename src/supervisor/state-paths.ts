import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionDiskLimits } from './session-files.js';

/** A unix socket path must fit in sockaddr_un (108 bytes on Linux, with the NUL). */
const MAX_SOCKET_PATH = 100;

/**
 * Every path under a state directory, derived from ids (validated before they get here), never
 * read from the registry file. Sessions live in their own subdirectory, so no session id can
 * collide with the registry, the lock, the control socket or the proxy's files.
 */
export interface StatePaths {
  sessionsDir: string;
  workspacesDir: string;
  registry: string;
  lock: string;
  /** The owner's control socket (or a short path in the temp dir when the real one is too long). */
  controlSocket: string;
  proxyDir: string;
  sessionDir(sessionId: string): string;
  claudeDir(sessionId: string): string;
  jobDir(sessionId: string, jobId: string): string;
  outputFile(sessionId: string, jobId: string): string;
  /** An ended job's record, once it no longer changes: written once, kept out of the registry. */
  jobRecord(sessionId: string, jobId: string): string;
  workspace(sessionId: string): string;
  /**
   * Sizes of each session's workspace and Claude state filesystems (session-files.ts); absent:
   * plain directories.
   */
  diskLimits?: SessionDiskLimits;
}

export function statePaths(
  sessionsDir: string,
  workspacesDir: string,
  diskLimits?: SessionDiskLimits,
): StatePaths {
  const sessionDir = (sessionId: string) => join(sessionsDir, 'sessions', sessionId);
  const jobDir = (sessionId: string, jobId: string) => join(sessionDir(sessionId), 'jobs', jobId);
  return {
    sessionsDir,
    workspacesDir,
    registry: join(sessionsDir, 'registry.json'),
    lock: join(sessionsDir, 'supervisor.lock'),
    controlSocket: controlSocketPath(sessionsDir),
    proxyDir: join(sessionsDir, '.proxy'),
    sessionDir,
    claudeDir: (sessionId) => join(sessionDir(sessionId), 'claude'),
    jobDir,
    outputFile: (sessionId, jobId) => join(jobDir(sessionId, jobId), 'output.jsonl'),
    jobRecord: (sessionId, jobId) => join(jobDir(sessionId, jobId), 'job.json'),
    workspace: (sessionId) => join(workspacesDir, sessionId),
    ...(diskLimits ? { diskLimits } : {}),
  };
}

function controlSocketPath(sessionsDir: string): string {
  const direct = join(sessionsDir, 'control.sock');
  if (Buffer.byteLength(direct) <= MAX_SOCKET_PATH) return direct;
  const hash = createHash('sha256').update(sessionsDir).digest('hex').slice(0, 20);
  return join(shortSocketDir(), `${hash}.sock`);
}

/** A private directory for sockets whose natural path is too long (created 0700 by the owner). */
export function shortSocketDir(): string {
  return join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), `claude-pod-${process.getuid?.() ?? 'u'}`);
}
