import { findExecutable } from '../runtime/detect.js';
import { aptInstall, canInstallWithApt } from './install-runtime.js';
import type { Progress } from './progress.js';

/** The tools size-limited workspaces need (loop-mounted ext4 images), by Debian package. */
export const DISK_TOOLS: ReadonlyArray<{ tool: string; pkg: string }> = [
  { tool: 'mkfs.ext4', pkg: 'e2fsprogs' },
  { tool: 'mount', pkg: 'mount' },
  { tool: 'losetup', pkg: 'mount' },
];

/** The packages to install for the tools that are missing. */
export async function missingDiskPackages(
  find: (tool: string) => Promise<string | null> = findExecutable,
): Promise<string[]> {
  const missing: string[] = [];
  for (const { tool, pkg } of DISK_TOOLS)
    if (!(await find(tool)) && !missing.includes(pkg)) missing.push(pkg);
  return missing;
}

/** Installs them with apt where it can (root on Debian/Ubuntu); otherwise disk limits stay off (doctor says). */
export async function ensureDiskTools(progress: Progress): Promise<void> {
  await progress.step('disk tools', async () => {
    const missing = await missingDiskPackages();
    if (missing.length === 0) return { detail: 'mkfs.ext4, mount and losetup installed' };
    const apt = await canInstallWithApt();
    if (!apt.ok) {
      return { detail: `${missing.join(' ')} missing (${apt.why}): workspaces will not be size-limited` };
    }
    await aptInstall(missing);
    return { detail: `installed ${missing.join(' ')} with apt-get` };
  });
}
