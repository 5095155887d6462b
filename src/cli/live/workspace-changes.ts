/**
 * The files a job created or modified in its workspace: every regular file whose mtime is not
 * older than the job's start. The walk is bounded (a workspace may hold a node_modules), skips
 * `.git` internals, and never follows symlinks. Deleted files cannot be seen this way.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface ChangedFiles {
  workspaceDir: string;
  files: string[];
  /** Changed files found beyond `limit`. */
  more: number;
}

export async function changedFiles(
  workspaceDir: string,
  sinceMs: number,
  opts: { limit?: number; maxEntries?: number } = {},
): Promise<ChangedFiles | null> {
  const limit = opts.limit ?? 12;
  let budget = opts.maxEntries ?? 20_000;
  const found: Array<{ path: string; mtime: number }> = [];
  let more = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (--budget < 0) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') await walk(full);
      } else if (entry.isFile()) {
        const stat = await lstat(full).catch(() => null);
        if (!stat || stat.mtimeMs < sinceMs) continue;
        if (found.length < limit) found.push({ path: relative(workspaceDir, full), mtime: stat.mtimeMs });
        else more += 1;
      }
    }
  };
  try {
    if (!(await lstat(workspaceDir)).isDirectory()) return null;
  } catch {
    return null;
  }
  await walk(workspaceDir);
  return { workspaceDir, files: found.map((f) => f.path), more };
}
