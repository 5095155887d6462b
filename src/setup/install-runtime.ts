import { readFile } from 'node:fs/promises';
import { findExecutable } from '../runtime/detect.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { execChecked } from './exec-checked.js';
import type { Progress } from './progress.js';

/** What a fresh Debian/Ubuntu host needs for rootful and rootless podman plus the base image. */
export const RUNTIME_PACKAGES = [
  'podman',
  'uidmap',
  'slirp4netns',
  'fuse-overlayfs',
  'debootstrap',
  'runc',
  'catatonit',
];

/** True when /etc/os-release names Debian, Ubuntu or a derivative of them. */
export function isDebianLike(osRelease: string): boolean {
  const field = (name: string) =>
    new RegExp(`^${name}=["']?([^"'\\n]*)`, 'm').exec(osRelease)?.[1]?.toLowerCase().split(/\s+/) ?? [];
  return [...field('ID'), ...field('ID_LIKE')].some((id) => id === 'debian' || id === 'ubuntu');
}

export async function canInstallWithApt(): Promise<{ ok: true } | { ok: false; why: string }> {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not running as root' };
  let osRelease = '';
  try {
    osRelease = await readFile('/etc/os-release', 'utf8');
  } catch {
    return { ok: false, why: '/etc/os-release is missing' };
  }
  if (!isDebianLike(osRelease)) return { ok: false, why: 'not Debian/Ubuntu' };
  if (!(await findExecutable('apt-get'))) return { ok: false, why: 'apt-get is missing' };
  return { ok: true };
}

export async function aptInstall(packages: string[]): Promise<void> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const fix =
    'check that the Debian mirror in /etc/apt/sources.list(.d) is reachable, then rerun `claude-pod setup`';
  await execChecked('apt-get', ['update'], fix, { env });
  await execChecked('apt-get', ['install', '-y', '--no-install-recommends', ...packages], fix, { env });
}

/**
 * Installs podman & co. with apt when podman (or an OCI runtime for it) is missing (root on
 * Debian/Ubuntu only). Podman is also what builds the agent image for Docker Engine.
 */
export async function ensurePodmanInstalled(progress: Progress): Promise<void> {
  await progress.step('podman', async () => {
    if (
      (await findExecutable('podman')) &&
      ((await findExecutable('runc')) || (await findExecutable('crun')))
    ) {
      return { detail: 'installed' };
    }
    const apt = await canInstallWithApt();
    if (!apt.ok) {
      throw new ClaudePodError(
        ErrorCodes.RUNTIME_MISSING,
        `podman is not installed and setup cannot install it (${apt.why}). Fix: as root on Debian/Ubuntu run ` +
          `\`apt-get install -y ${RUNTIME_PACKAGES.join(' ')}\`, then rerun \`claude-pod setup\`.`,
      );
    }
    await aptInstall(RUNTIME_PACKAGES);
    return { detail: `installed ${RUNTIME_PACKAGES.join(' ')} with apt-get` };
  });
}
