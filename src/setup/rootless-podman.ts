import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { findExecutable } from '../runtime/detect.js';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

/** podman needs 65536 subordinate ids to map an image's users (nobody is 65534). */
export const MIN_SUBORDINATE_IDS = 65536;

export interface IdRange {
  start: number;
  count: number;
}

/** The ranges /etc/subuid (or /etc/subgid) grants `user` (by name or uid). */
export function subordinateRanges(file: string, user: { name: string; uid: number }): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of file.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (!owner || (owner !== user.name && owner !== String(user.uid))) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isInteger(range.start) && Number.isInteger(range.count) && range.count > 0) ranges.push(range);
  }
  return ranges;
}

/** The first id after every range already handed out in `file` (at least 100000). */
export function nextFreeId(file: string): number {
  let next = 100_000;
  for (const line of file.split('\n')) {
    const [, start, count] = line.trim().split(':');
    const end = Number(start) + Number(count);
    if (Number.isInteger(end) && end > next) next = end;
  }
  return next;
}

/** Where podman reads this user's storage config. */
export function userStorageConf(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONTAINERS_STORAGE_CONF) return env.CONTAINERS_STORAGE_CONF;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'containers', 'storage.conf');
}

export const OVERLAY_STORAGE_CONF = `# Written by \`claude-pod setup\`: rootless podman otherwise falls back to vfs here, which
# stores every image layer as a full copy (about 2.8 GB for the 1 GB agent image).
[storage]
driver = "overlay"
`;

interface StoreInfo {
  driver: string;
  images: number;
  containers: number;
  volumes: number;
}

async function storeInfo(podman: string): Promise<StoreInfo> {
  const r = await execa(podman, ['info', '--format', 'json'], {
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
  if (r.exitCode !== 0) {
    throw new ClaudePodError(
      ErrorCodes.SETUP_FAILED,
      `rootless podman does not work for this user: ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}`,
    );
  }
  const info = JSON.parse(String(r.stdout)) as {
    store?: {
      graphDriverName?: string;
      imageStore?: { number?: number };
      containerStore?: { number?: number };
    };
  };
  const volumes = await execa(podman, ['volume', 'ls', '--quiet'], { reject: false, stdin: 'ignore' });
  return {
    driver: info.store?.graphDriverName ?? 'unknown',
    images: info.store?.imageStore?.number ?? 0,
    containers: info.store?.containerStore?.number ?? 0,
    volumes: String(volumes.stdout ?? '').trim() ? String(volumes.stdout).trim().split('\n').length : 0,
  };
}

/** What root has to do before this user can run rootless podman; empty when nothing. */
export async function rootlessNeedsFromRoot(
  user: { name: string; uid: number },
  read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<string[]> {
  const needs: string[] = [];
  for (const [file, flag] of [
    ['/etc/subuid', '--add-subuids'],
    ['/etc/subgid', '--add-subgids'],
  ] as const) {
    const text = await read(file).catch(() => '');
    if (!subordinateRanges(text, user).some((r) => r.count >= MIN_SUBORDINATE_IDS)) {
      const start = nextFreeId(text);
      needs.push(
        `give ${user.name} ${MIN_SUBORDINATE_IDS} subordinate ids in ${file}: ` +
          `\`usermod ${flag} ${start}-${start + MIN_SUBORDINATE_IDS - 1} ${user.name}\``,
      );
    }
  }
  for (const tool of ['newuidmap', 'newgidmap']) {
    if (!(await findExecutable(tool))) needs.push(`install ${tool}: \`apt-get install -y uidmap\``);
  }
  return needs;
}

/**
 * Prepares rootless podman for the user running setup: checks what only root can grant
 * (subordinate ids, the setuid newuidmap/newgidmap) and says exactly what root must do when
 * something is missing; then storage on overlay instead of vfs (written to the user's
 * storage.conf only while the store is empty, so nothing of the user's is lost). The OCI runtime
 * is probed afterwards by detectRuntime, which caches per rootless/rootful.
 */
export async function prepareRootlessPodman(podman: string): Promise<{ detail: string; notes: string[] }> {
  const me = userInfo();
  const user = { name: me.username, uid: me.uid };
  const needs = await rootlessNeedsFromRoot(user);
  if (needs.length) {
    throw new ClaudePodError(
      ErrorCodes.SETUP_FAILED,
      `Rootless podman for ${user.name} needs, from root:\n  - ${needs.join('\n  - ')}\n` +
        `Fix: do that as root, then rerun \`claude-pod setup\` as ${user.name}.`,
      { details: { needs } },
    );
  }
  const notes: string[] = [];
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  if (!runtimeDir || !existsSync(runtimeDir)) {
    notes.push(
      `XDG_RUNTIME_DIR is ${runtimeDir ? `${runtimeDir}, which does not exist` : 'not set'}: podman keeps its ` +
        `runtime state under /tmp instead (a login session, or root creating /run/user/${user.uid}, fixes that)`,
    );
  }
  let store = await storeInfo(podman);
  if (store.driver === 'overlay') return { detail: `${user.name}: subuids ok, storage overlay`, notes };
  const conf = userStorageConf();
  if (existsSync(conf)) {
    notes.push(
      `${conf} sets storage driver "${store.driver}"; overlay would need far less disk (left as it is)`,
    );
    return { detail: `${user.name}: subuids ok, storage ${store.driver} (from ${conf})`, notes };
  }
  if (store.images + store.containers + store.volumes > 0) {
    notes.push(
      `storage driver is ${store.driver} with ${store.images} image(s) already stored; switching to overlay ` +
        'needs `podman system reset` (deletes them), so it was left as it is',
    );
    return { detail: `${user.name}: subuids ok, storage ${store.driver}`, notes };
  }
  await mkdir(dirname(conf), { recursive: true });
  await writeFile(conf, OVERLAY_STORAGE_CONF);
  // The empty store still records vfs in its database; reset it so podman takes the new driver.
  await execa(podman, ['system', 'reset', '--force'], { reject: false, stdin: 'ignore', timeout: 60_000 });
  store = await storeInfo(podman);
  if (store.driver !== 'overlay') {
    throw new ClaudePodError(
      ErrorCodes.SETUP_FAILED,
      `Wrote ${conf} (driver overlay), but podman still uses ${store.driver}. Fix: install fuse-overlayfs ` +
        `and add \`mount_program = "/usr/bin/fuse-overlayfs"\` under [storage.options.overlay] in ${conf}.`,
    );
  }
  return { detail: `${user.name}: subuids ok, storage switched from vfs to overlay (${conf})`, notes };
}
