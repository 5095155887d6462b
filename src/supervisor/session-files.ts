import { chown, chmod, mkdir, readdir, lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StatePaths } from './state-paths.js';

/**
 * A session's files: its workspace under workspacesDir, its state (Claude's transcripts, the
 * jobs' output) under sessionsDir/sessions/<id>. Directories are 0700; the ones the container
 * writes belong to the container's user when the runtime maps it 1:1 (rootful).
 */
export async function prepareSessionDirs(
  paths: StatePaths,
  sessionId: string,
  jobId: string,
  containerUid: number | null,
): Promise<void> {
  const workspace = paths.workspace(sessionId);
  const claudeDir = paths.claudeDir(sessionId);
  const createdWorkspace = (await mkdir(workspace, { recursive: true, mode: 0o700 })) !== undefined;
  const createdClaude = (await mkdir(claudeDir, { recursive: true, mode: 0o700 })) !== undefined;
  await mkdir(paths.jobDir(sessionId, jobId), { recursive: true, mode: 0o700 });
  if (containerUid !== null) {
    if (createdWorkspace) await chown(workspace, containerUid, containerUid);
    if (createdClaude) await chown(claudeDir, containerUid, containerUid);
  }
  if (createdWorkspace) await chmod(workspace, 0o700);
}

/** Removes a session's state (and its workspace, when we created it); returns the bytes freed. */
export async function removeSessionFiles(
  paths: StatePaths,
  sessionId: string,
  deleteWorkspace: boolean,
): Promise<{ bytesFreed: number; workspaceDeleted: boolean }> {
  let bytes = await diskUsage(paths.sessionDir(sessionId));
  await rm(paths.sessionDir(sessionId), { recursive: true, force: true });
  if (deleteWorkspace) {
    bytes += await diskUsage(paths.workspace(sessionId));
    await rm(paths.workspace(sessionId), { recursive: true, force: true });
  }
  return { bytesFreed: bytes, workspaceDeleted: deleteWorkspace };
}

/** Bytes of the regular files under a directory (symlinks are not followed). */
export async function diskUsage(dir: string): Promise<number> {
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
          (s) => s.size,
          () => 0,
        );
    }
  }
  return total;
}
