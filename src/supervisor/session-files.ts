import { chmod, chown, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processDiskSupport } from '../disk/disk-support.js';
import { ensureLoopDisk, releaseLoopDisk, type LoopDisk } from '../disk/loop-disk.js';
import type { Config } from '../shared/config.js';
import { diskQuota, isClaudePodError } from '../shared/errors.js';
import { parseSize } from '../shared/sizes.js';
import type { StatePaths } from './state-paths.js';

/** Sizes of a session's two size-limited filesystems, in bytes (0 = a plain directory). */
export interface SessionDiskLimits {
  workspaceBytes: number;
  stateBytes: number;
}

export function sessionDiskLimits(
  config: Pick<Config, 'maxWorkspaceSize' | 'maxStateSize'>,
): SessionDiskLimits {
  return { workspaceBytes: parseSize(config.maxWorkspaceSize), stateBytes: parseSize(config.maxStateSize) };
}

/**
 * A session's size-limited filesystems: its workspace and its Claude state directory, each an
 * ext4 image in the session's `disk/` directory (which no container sees), mounted on the path
 * the container's mount comes from.
 */
export function sessionDisks(
  paths: StatePaths,
  sessionId: string,
): { workspace: LoopDisk; claude: LoopDisk } {
  const dir = join(paths.sessionDir(sessionId), 'disk');
  return {
    workspace: { image: join(dir, 'workspace.ext4'), mountPoint: paths.workspace(sessionId) },
    claude: { image: join(dir, 'claude.ext4'), mountPoint: paths.claudeDir(sessionId) },
  };
}

/**
 * A session's files: its workspace under workspacesDir, its state (Claude's transcripts, the
 * jobs' output) under sessionsDir/sessions/<id>. Directories are 0700; the ones the container
 * writes belong to the container's user when the runtime maps it 1:1 (rootful).
 *
 * With `paths.diskLimits` and a supervisor that can mount (root, rootful runtime: containerUid
 * set), the workspace and the Claude state are size-limited filesystems. This is idempotent: a
 * re-attaching supervisor finds them mounted; after a host reboot they are mounted again.
 * A workspace that already holds files and has no image (made before limits were configured)
 * stays a plain directory: mounting over it would hide them.
 */
export async function prepareSessionDirs(
  paths: StatePaths,
  sessionId: string,
  jobId: string,
  containerUid: number | null,
): Promise<void> {
  await mkdir(paths.jobDir(sessionId, jobId), { recursive: true, mode: 0o700 });
  const limits = paths.diskLimits;
  const quotas = limits && containerUid !== null && (await processDiskSupport()).enforced;
  const disks = sessionDisks(paths, sessionId);
  const dirs: Array<[LoopDisk, number]> = [
    [disks.workspace, limits?.workspaceBytes ?? 0],
    [disks.claude, limits?.stateBytes ?? 0],
  ];
  for (const [disk, bytes] of dirs) {
    if (quotas && bytes > 0) {
      await mkdir(join(paths.sessionDir(sessionId), 'disk'), { mode: 0o700 }).catch(ignoreExists);
      const owner = { uid: containerUid, gid: containerUid };
      const done = await ensureLoopDisk(disk, bytes, owner).catch((error: unknown) => {
        throw isClaudePodError(error)
          ? error
          : diskQuota(
              `Could not set up the size-limited filesystem at ${disk.mountPoint}: ${String(error)}`,
              {
                mountPoint: disk.mountPoint,
              },
            );
      });
      if (done !== 'not-empty') continue;
    }
    await plainDir(disk.mountPoint, containerUid);
  }
}

async function plainDir(dir: string, containerUid: number | null): Promise<void> {
  const created = (await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined;
  if (!created) return;
  if (containerUid !== null) await chown(dir, containerUid, containerUid);
  await chmod(dir, 0o700);
}

function ignoreExists(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EEXIST') throw error;
}

/**
 * Removes a session's state (and its workspace, when we created it); returns the bytes freed on
 * disk. Its size-limited filesystems are unmounted first (their images are in the state), so
 * nothing is left mounted or attached to a loop device.
 */
export async function removeSessionFiles(
  paths: StatePaths,
  sessionId: string,
  deleteWorkspace: boolean,
): Promise<{ bytesFreed: number; workspaceDeleted: boolean }> {
  const disks = sessionDisks(paths, sessionId);
  const sessionDir = paths.sessionDir(sessionId);
  await releaseLoopDisk(disks.claude);
  if (deleteWorkspace) await releaseLoopDisk(disks.workspace);
  // A workspace that stays keeps its image (and its mount) for the session's next use.
  const keepImage =
    !deleteWorkspace &&
    (await lstat(disks.workspace.image).then(
      () => true,
      () => false,
    ));
  let bytes = await diskUsage(sessionDir);
  if (keepImage) {
    bytes -= await diskUsage(disks.workspace.image);
    for (const entry of await readdir(sessionDir).catch(() => [])) {
      if (entry !== 'disk') await rm(join(sessionDir, entry), { recursive: true, force: true });
    }
    await rm(disks.claude.image, { force: true });
  } else {
    await rm(sessionDir, { recursive: true, force: true });
  }
  if (deleteWorkspace) {
    bytes += await diskUsage(paths.workspace(sessionId));
    await rm(paths.workspace(sessionId), { recursive: true, force: true });
  }
  return { bytesFreed: bytes, workspaceDeleted: deleteWorkspace };
}

/**
 * Bytes on disk of the regular files under a directory (or of one file): allocated blocks, so a
 * sparse filesystem image counts what it holds, not its size. Symlinks are not followed.
 */
export async function diskUsage(dir: string): Promise<number> {
  const top = await lstat(dir).catch(() => null);
  if (top?.isFile()) return top.blocks * 512;
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile())
        total += await lstat(full).then(
          (s) => s.blocks * 512,
          () => 0,
        );
    }
  }
  return total;
}
