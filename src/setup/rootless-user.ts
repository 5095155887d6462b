/**
 * The root side of rootless podman for another user: what `claude-pod setup` run as that user
 * asks root for (rootless-podman.ts), done by root. Used by the test set-up, which runs the
 * job-lifecycle tests a second time as a created non-root user (scripts/test-engines.mjs).
 */
import { mkdir, chmod, chown, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { execChecked } from './exec-checked.js';
import type { ClientCommand } from './image-label.js';
import { MIN_SUBORDINATE_IDS, nextFreeId, subordinateRanges } from './rootless-podman.js';

export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** A passwd entry, or null when there is no such user. */
export async function lookupUser(name: string): Promise<UserAccount | null> {
  const r = await execa('getent', ['passwd', name], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) return null;
  const [, , uid, gid, , home] = String(r.stdout).trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? `/home/${name}` };
}

/** The user, created (with a home and its own group) when missing. Root only. */
export async function ensureUser(name: string): Promise<UserAccount> {
  const existing = await lookupUser(name);
  if (existing) return existing;
  await execChecked(
    'useradd',
    ['--create-home', '--shell', '/bin/bash', '--user-group', name],
    'run as root',
  );
  const created = await lookupUser(name);
  if (!created) throw new ClaudePodError(ErrorCodes.SETUP_FAILED, `useradd ${name} left no passwd entry`);
  return created;
}

/** 65536 subordinate uids and gids for the user, unless it has them (useradd usually adds them). */
export async function ensureSubordinateIds(user: UserAccount): Promise<string[]> {
  const done: string[] = [];
  for (const [file, flag] of [
    ['/etc/subuid', '--add-subuids'],
    ['/etc/subgid', '--add-subgids'],
  ] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (
      subordinateRanges(text, { name: user.name, uid: user.uid }).some((r) => r.count >= MIN_SUBORDINATE_IDS)
    )
      continue;
    const start = nextFreeId(text);
    await execChecked(
      'usermod',
      [flag, `${start}-${start + MIN_SUBORDINATE_IDS - 1}`, user.name],
      'run as root',
    );
    done.push(`${file}: ${start}+${MIN_SUBORDINATE_IDS}`);
  }
  return done;
}

/** `/run/user/<uid>`, owned by the user, mode 0700: what a login session (logind) would create. */
export async function ensureRuntimeDir(user: UserAccount): Promise<string> {
  const dir = join('/run/user', String(user.uid));
  await mkdir(dir, { recursive: true });
  await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);
  return dir;
}

/** A login-like environment for the user: nothing of root's, plus `extra`. */
export function userEnvironment(user: UserAccount, runtimeDir: string, extra: Record<string, string> = {}) {
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    XDG_RUNTIME_DIR: runtimeDir,
    ...extra,
  };
}

/** Runs `command` as the user with exactly `env` (runuser + env -i): a client command for root. */
export function asUser(user: UserAccount, env: Record<string, string>, command: string): ClientCommand {
  return {
    command: 'runuser',
    args: ['-u', user.name, '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command],
  };
}
