import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

/** Where one state directory's API proxy keeps its files. */
export interface ProxyPaths {
  /** `<stateDir>/api-proxy`, mode 0700: tokens, pid file and log. */
  dir: string;
  /** Capability tokens (hashes only), mode 0600. */
  tokensFile: string;
  /** The pid file: JSON `{pid, fingerprint, socketPath, startedAt}`, written once the socket listens. */
  pidFile: string;
  logFile: string;
  /** A short directory under the OS temp dir: a unix socket path may hold at most 107 bytes. */
  socketDir: string;
  socketPath: string;
}

export function proxyPaths(stateDir: string): ProxyPaths {
  const absolute = resolve(stateDir);
  const dir = join(absolute, 'api-proxy');
  const digest = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const socketDir = join(tmpdir(), `claude-pod-${uid}-${digest}`);
  return {
    dir,
    tokensFile: join(dir, 'tokens.json'),
    pidFile: join(dir, 'proxy.json'),
    logFile: join(dir, 'proxy.log'),
    socketDir,
    socketPath: join(socketDir, 'api.sock'),
  };
}

/**
 * Creates the socket directory, or checks the one that is there: it lives in a shared temp dir, so
 * it must be a real directory we own (not a symlink or someone else's). Mode 0711: the container
 * user may reach `api.sock` by name but not list the directory; the capability token authorises.
 */
export async function prepareSocketDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o711 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const info = await lstat(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : info.uid;
  if (!info.isDirectory() || info.uid !== uid) {
    throw new ClaudePodError(
      ErrorCodes.INTERNAL,
      `API proxy socket directory ${dir} is not a directory owned by uid ${uid}; remove it and retry`,
      { details: { dir } },
    );
  }
  await chmod(dir, 0o711);
}

export async function prepareProxyDir(paths: ProxyPaths): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700);
}
