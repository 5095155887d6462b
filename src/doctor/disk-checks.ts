import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskSupport, type DiskSupport } from '../disk/disk-support.js';
import { ensureLoopDisk, releaseLoopDisk } from '../disk/loop-disk.js';
import type { ResolvedConfig } from '../shared/config.js';
import { reserveBytes } from '../shared/disk-full.js';
import { formatSize, parseSize } from '../shared/sizes.js';
import { containerLogCap, SHM_SIZE, VAR_TMP_SIZE, writableLayers } from '../supervisor/job-spec.js';
import type { Check } from './checks.js';

const MiB = 1024 * 1024;
const PROBE_BYTES = 16 * MiB;
/** What Claude Code itself takes in the container (measured: 140–160 MB), with a margin. */
export const CLAUDE_FOOTPRINT_BYTES = 192 * MiB;

/** A real size-limited image, written past its end: bytes written before ENOSPC, or why not. */
export interface DiskProbe {
  writtenBytes: number;
  enospc: boolean;
  ms: number;
}

export async function probeLoopDisk(): Promise<DiskProbe> {
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-doctor-disk-'));
  const disk = { image: join(dir, 'probe.ext4'), mountPoint: join(dir, 'mnt') };
  const started = Date.now();
  try {
    await ensureLoopDisk(disk, PROBE_BYTES, { uid: 0, gid: 0 });
    const file = await open(join(disk.mountPoint, 'fill'), 'w');
    const chunk = Buffer.alloc(MiB);
    let writtenBytes = 0;
    let enospc = false;
    try {
      for (let i = 0; i < 2 * (PROBE_BYTES / MiB); i++)
        writtenBytes += (await file.write(chunk)).bytesWritten;
    } catch (error) {
      enospc = (error as NodeJS.ErrnoException).code === 'ENOSPC';
      if (!enospc) throw error;
    } finally {
      await file.close();
    }
    return { writtenBytes, enospc, ms: Date.now() - started };
  } finally {
    await releaseLoopDisk(disk).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

export interface DiskCheckDeps {
  support?: DiskSupport;
  probe?: () => Promise<DiskProbe>;
}

/**
 * The disk layer: are the workspace and Claude state size-limited here (measured with a real
 * image, written past its end), do the container's tmpfs mounts fit in its memory limit, and
 * what the container log is capped at.
 */
export async function diskChecks(
  config: ResolvedConfig,
  rootless: boolean,
  deps: DiskCheckDeps = {},
): Promise<Check[]> {
  return [await quotaCheck(config, rootless, deps), tmpfsCheck(config), logCheck(config)];
}

async function quotaCheck(config: ResolvedConfig, rootless: boolean, deps: DiskCheckDeps): Promise<Check> {
  const id = 'disk-quota';
  const label = 'disk limits';
  const limits = `workspace ${config.maxWorkspaceSize}, Claude state ${config.maxStateSize}`;
  const hostOnly = `only the host's free space is watched (a job stops with DISK_QUOTA below ${formatSize(reserveBytes(Number.MAX_SAFE_INTEGER))})`;
  if (parseSize(config.maxWorkspaceSize) === 0 && parseSize(config.maxStateSize) === 0) {
    return {
      id,
      label,
      status: 'warn',
      value: `off (maxWorkspaceSize and maxStateSize are 0): ${hostOnly}`,
      fix: 'set maxWorkspaceSize and maxStateSize',
    };
  }
  const support: DiskSupport = rootless
    ? { enforced: false, why: 'rootless: the runtime maps users, and only root can loop-mount an image' }
    : (deps.support ?? (await diskSupport()));
  if (!support.enforced) {
    return {
      id,
      label,
      status: 'warn',
      value: `NOT enforced (configured ${limits}) — ${support.why}; ${hostOnly}`,
      fix: 'run the supervisor as root with a rootful runtime (mkfs.ext4, mount and loop devices available)',
    };
  }
  try {
    const probe = await (deps.probe ?? probeLoopDisk)();
    const mib = (probe.writtenBytes / MiB).toFixed(1);
    if (!probe.enospc || probe.writtenBytes > PROBE_BYTES) {
      return {
        id,
        label,
        status: 'warn',
        value: `NOT enforced: a ${PROBE_BYTES / MiB} MiB probe image took ${mib} MiB without ENOSPC`,
      };
    }
    return {
      id,
      label,
      status: 'ok',
      value: `enforced: ${limits}, loop-mounted ext4 images (probe: ENOSPC after ${mib} of ${PROBE_BYTES / MiB} MiB, ${probe.ms} ms)`,
    };
  } catch (error) {
    return {
      id,
      label,
      status: 'warn',
      value: `NOT enforced: a probe image could not be used (${(error as Error).message.split('\n')[0]}); ${hostOnly}`,
      fix: 'check that loop devices work (losetup -f) and that mkfs.ext4 is installed',
    };
  }
}

/** The tmpfs mounts count against the memory limit: full, they must leave Claude Code room. */
function tmpfsCheck(config: ResolvedConfig): Check {
  const layers = writableLayers(config);
  const sizes = [layers.tmpfsSize, ...(layers.tmpfsMounts ?? []).map((t) => t.size), layers.shmSize ?? '0'];
  const total = sizes.map(parseSize).reduce((a, b) => a + b, 0);
  const memory = parseSize(config.memory);
  const value = `/tmp ${layers.tmpfsSize}, home ${config.homeSize}, /var/tmp ${VAR_TMP_SIZE}, /dev/shm ${SHM_SIZE}: ${formatSize(total)} of memory ${config.memory}; the image is read-only`;
  if (total + CLAUDE_FOOTPRINT_BYTES <= memory)
    return { id: 'tmpfs', label: 'tmpfs sizes', status: 'ok', value };
  return {
    id: 'tmpfs',
    label: 'tmpfs sizes',
    status: 'warn',
    value: `${value} — filling them would OOM-kill the job instead of giving ENOSPC`,
    fix: `lower tmpfsSize/homeSize or raise memory (they need ${formatSize(total + CLAUDE_FOOTPRINT_BYTES)})`,
  };
}

function logCheck(config: ResolvedConfig): Check {
  const cap = formatSize(containerLogCap(config.maxOutputSize));
  return {
    id: 'container-log',
    label: 'container log',
    status: 'info',
    value:
      config.maxOutputSize > 0
        ? `capped at ${cap} (2 × maxOutputSize + 16m: output within maxOutputSize replays whole after a crash)`
        : `capped at ${cap} (maxOutputSize is unlimited: a replay after a crash may miss output past the cap)`,
  };
}
