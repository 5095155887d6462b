import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { containerDir } from '../shared/paths.js';

/**
 * What runs inside every job's container before Claude Code (entrypoint, forwarder) is
 * bind-mounted read-only from the host. It is staged into the sessions directory with modes the
 * container user can read: an installed package may sit in a private copy the container's uid
 * cannot read (OpenClaw installs plugins with 0600 files). The folder is named by a hash of the
 * contents, so an upgrade never changes the files under a running container.
 */
export async function stageContainerRuntime(sessionsDir: string): Promise<string> {
  const source = join(containerDir, 'runtime');
  const names = (await readdir(source)).sort();
  const files = await Promise.all(
    names.map(async (name) => ({ name, data: await readFile(join(source, name)) })),
  );
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.name).update('\0').update(f.data).update('\0');
  const target = join(sessionsDir, `.runtime-${hash.digest('hex').slice(0, 12)}`);
  try {
    await readdir(target);
    return target;
  } catch {
    // not staged yet
  }
  const tmp = `${target}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const f of files) {
    await writeFile(join(tmp, f.name), f.data);
    await chmod(join(tmp, f.name), f.name.endsWith('.sh') ? 0o755 : 0o644);
  }
  await chmod(tmp, 0o755);
  await rename(tmp, target).catch(async (error: NodeJS.ErrnoException) => {
    // Another process staged the same content first: fine.
    await rm(tmp, { recursive: true, force: true });
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  });
  return target;
}
