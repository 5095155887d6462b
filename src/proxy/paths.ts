import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

/** Where one state directory's API proxy keeps its files. */
export interface ProxyPaths {
  /** `<stateDir>/api-proxy`, mode 0700: tokens, pid file and log. */
  dir: string;
  /** Capability tokens (hashes only), mode 0600. */
  tokensFile: string;
  /** The pid file of the daemon that currently serves (JSON, see pid-file.ts). */
  pidFile: string;
  logFile: string;
  /** `<stateDir>/activity`, mode 0700: one file per job whose mtime the daemon moves while bytes flow. */
  activityDir: string;
  /**
   * A short directory under the OS temp dir (a unix socket path may hold at most 107 bytes), mode
   * 0700 and owned by the supervisor's user: nobody else can even look into it. It holds the
   * control socket and one sub-directory per job; only a job's own sub-directory is mounted into
   * its container.
   */
  socketRoot: string;
  /** The daemon's health and control socket; no container ever sees it, so no job can flood it. */
  controlSocket: string;
}

/** Who may reach a job's socket: the container's user as the host sees it. */
export interface SocketOwner {
  uid: number;
  gid: number;
}

export const JOB_SOCKET_NAME = 'api.sock';

export function proxyPaths(stateDir: string): ProxyPaths {
  const absolute = resolve(stateDir);
  const dir = join(absolute, 'api-proxy');
  const digest = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  // `v2`: per-job sockets. The previous layout mounted this whole directory into every container,
  // so a container started before an upgrade must never see the new one.
  const socketRoot = join(tmpdir(), `claude-pod-v2-${uid}-${digest}`);
  return {
    dir,
    tokensFile: join(dir, 'tokens.json'),
    pidFile: join(dir, 'proxy.json'),
    logFile: join(dir, 'proxy.log'),
    activityDir: join(absolute, 'activity'),
    socketRoot,
    controlSocket: join(socketRoot, 'control.sock'),
  };
}

/**
 * Job ids become file names (activity file) and pick a socket directory: only plain names, so no
 * id can point outside its directory.
 */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isValidJobId(jobId: unknown): jobId is string {
  return typeof jobId === 'string' && JOB_ID.test(jobId) && !jobId.includes('..');
}

export function assertJobId(jobId: unknown): asserts jobId is string {
  if (!isValidJobId(jobId)) {
    throw new ClaudePodError(
      ErrorCodes.INVALID_ARGUMENT,
      'API proxy: a job id must be 1-128 characters of A-Z a-z 0-9 . _ - (no "..")',
      { details: { jobId: String(jobId).slice(0, 200) } },
    );
  }
}

/** A job's socket directory: a hash of its id keeps the path short whatever the id. */
export function jobSocketDir(paths: ProxyPaths, jobId: string): string {
  return join(paths.socketRoot, `j-${createHash('sha256').update(jobId).digest('hex').slice(0, 20)}`);
}

export function jobSocketPath(paths: ProxyPaths, jobId: string): string {
  return join(jobSocketDir(paths, jobId), JOB_SOCKET_NAME);
}

export function activityFile(paths: ProxyPaths, jobId: string): string {
  assertJobId(jobId);
  return join(paths.activityDir, jobId);
}

export function currentUser(): SocketOwner {
  return {
    uid: typeof process.getuid === 'function' ? process.getuid() : 0,
    gid: typeof process.getgid === 'function' ? process.getgid() : 0,
  };
}

/** mkdir that tolerates an existing entry; the caller checks what is there. */
async function mkdirOnce(dir: string, mode: number): Promise<void> {
  try {
    await mkdir(dir, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function notOurs(dir: string, expected: string): ClaudePodError {
  return new ClaudePodError(
    ErrorCodes.INTERNAL,
    `API proxy socket directory ${dir} is not ${expected}; remove it and retry`,
    { details: { dir } },
  );
}

/**
 * Creates the socket root, or checks the one that is there: it lives in a shared temp dir, so it
 * must be a real directory we own (not a symlink, not someone else's). Mode 0700.
 */
export async function prepareSocketRoot(dir: string): Promise<void> {
  await mkdirOnce(dir, 0o700);
  const info = await lstat(dir);
  const me = currentUser();
  if (!info.isDirectory() || info.uid !== me.uid) throw notOurs(dir, `a directory owned by uid ${me.uid}`);
  if ((info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

/**
 * A job's socket directory, mode 0700, owned by the container's user (the socket root above it is
 * ours and 0700, so nobody else can have put anything here).
 */
export async function prepareJobSocketDir(dir: string, owner: SocketOwner): Promise<void> {
  await mkdirOnce(dir, 0o700);
  const info = await lstat(dir);
  if (!info.isDirectory()) throw notOurs(dir, 'a directory');
  if (info.uid !== owner.uid || info.gid !== owner.gid) await chown(dir, owner.uid, owner.gid);
  if ((info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

export async function prepareProxyDir(paths: ProxyPaths): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700);
  await mkdirOnce(paths.activityDir, 0o700);
  await chmod(paths.activityDir, 0o700);
}
