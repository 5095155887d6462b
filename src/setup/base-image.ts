import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { BASE_IMAGE, findExecutable } from '../runtime/detect.js';
import type { RuntimeInfo } from '../runtime/runtime-info.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { hostDebianMirror } from './apt-mirror.js';
import { execChecked } from './exec-checked.js';
import { aptInstall } from './install-runtime.js';
import type { Progress } from './progress.js';

/** The registry base the Containerfile defaults to. */
export const REGISTRY_BASE = 'docker.io/library/debian:bookworm-slim';

/** Every base an agent image may be built on. */
export const BASE_IMAGES = [BASE_IMAGE, REGISTRY_BASE];

const rt = (info: RuntimeInfo, args: string[]) => [...info.globalArgs, ...args];

export async function imagePresent(info: RuntimeInfo, image: string): Promise<boolean> {
  const r = await execa(info.command, rt(info, ['image', 'inspect', '--format', '{{.Id}}', image]), {
    reject: false,
    stdin: 'ignore',
  });
  return r.exitCode === 0;
}

/**
 * A Debian bookworm base for the agent image: one already here (ours or the registry's), else a
 * pull of debian:bookworm-slim, else a debootstrapped minbase imported as BASE_IMAGE.
 */
export async function ensureBaseImage(info: RuntimeInfo, progress: Progress): Promise<string> {
  const { image } = await progress.step('base image', async () => {
    for (const candidate of [BASE_IMAGE, REGISTRY_BASE]) {
      if (await imagePresent(info, candidate)) return { image: candidate, detail: `${candidate} present` };
    }
    const pull = await execa(info.command, rt(info, ['pull', '--quiet', REGISTRY_BASE]), {
      reject: false,
      stdin: 'ignore',
      timeout: 5 * 60_000,
    });
    if (pull.exitCode === 0) return { image: REGISTRY_BASE, detail: `pulled ${REGISTRY_BASE}` };
    const mirror = await debootstrapBase(info);
    return {
      image: BASE_IMAGE,
      detail: `${REGISTRY_BASE} cannot be pulled; debootstrapped bookworm from ${mirror} as ${BASE_IMAGE}`,
    };
  });
  return image;
}

async function debootstrapBase(info: RuntimeInfo): Promise<string> {
  if (process.getuid?.() !== 0) {
    throw new ClaudePodError(
      ErrorCodes.SETUP_FAILED,
      `No base image: ${REGISTRY_BASE} cannot be pulled and debootstrap needs root. Fix: run \`claude-pod setup\` ` +
        `once as root, or load a Debian bookworm image and tag it ${BASE_IMAGE}.`,
    );
  }
  if (!(await findExecutable('debootstrap'))) await aptInstall(['debootstrap']);
  const mirror = await hostDebianMirror();
  const work = await mkdtemp(
    join(process.env.TMPDIR ?? (tmpdir() === '/tmp' ? '/var/tmp' : tmpdir()), 'claude-pod-base-'),
  );
  const rootfs = join(work, 'rootfs');
  const tarball = join(work, 'rootfs.tar');
  try {
    await execChecked(
      'debootstrap',
      ['--variant=minbase', 'bookworm', rootfs, mirror],
      `check that ${mirror} (taken from /etc/apt/sources.list(.d)) is reachable, then rerun \`claude-pod setup\``,
    );
    // Package caches and lists are rebuilt by the image build's own `apt-get update`.
    await rm(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    await rm(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
    await mkdir(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    await mkdir(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
    await execChecked(
      'tar',
      ['-C', rootfs, '--numeric-owner', '-cf', tarball, '.'],
      'check free disk space in the temp dir',
    );
    await execChecked(
      info.command,
      rt(info, [
        'import',
        '--change',
        'CMD ["/bin/bash"]',
        '--message',
        'claude-pod base: debootstrap minbase bookworm',
        tarball,
        BASE_IMAGE,
      ]),
      'check free disk space under /var/lib/containers',
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return mirror;
}
