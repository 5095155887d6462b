import type { ContainerSpec } from './engine.js';
import type { RuntimeKind } from './runtime-info.js';

export type { Mount } from './engine.js';

export const DEFAULT_ULIMITS = ['nofile=4096:4096', 'nproc=4096:4096'];

/**
 * The hardened `run` invocation of a podman or docker client (everything after the runtime's
 * global flags). The container is not `--rm`: we remove it ourselves once its exit status and
 * log are safely recorded, so a crash of the host process in between loses nothing.
 *
 * Nothing secret is in it: `secretEnv` becomes `--env NAME` (the client copies the value from its
 * own environment), and the prompt goes to the container's stdin (`--interactive`).
 */
export function buildRunArgs(kind: RuntimeKind, o: ContainerSpec): string[] {
  // `--pull=never`: the image is checked before a job starts; a job never waits on a registry.
  const args = ['run', '--name', o.name, '--sig-proxy=false', '--init', '--pull=never'];
  if (o.stdin !== undefined) args.push('--interactive');
  for (const [key, value] of Object.entries(o.labels)) args.push('--label', `${key}=${value}`);
  args.push(
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--pids-limit',
    String(o.pidsLimit),
    '--memory',
    o.memory,
    // Same as --memory: no swap on top, so the memory limit is the limit.
    '--memory-swap',
    o.memory,
    '--cpus',
    o.cpus,
    '--tmpfs',
    `/tmp:rw,nosuid,size=${o.tmpfsSize}`,
    '--network',
    o.network,
    '--user',
    o.user,
    '--workdir',
    o.workdir,
  );
  if (o.userns) args.push(`--userns=${o.userns}`);
  if (o.readOnlyRootfs) {
    args.push('--read-only');
    // podman would add unsized tmpfs mounts of its own (/run, /var/tmp…); every writable place is ours.
    if (kind === 'podman') args.push('--read-only-tmpfs=false');
  }
  for (const t of o.tmpfsMounts ?? []) args.push('--tmpfs', `${t.target}:${tmpfsOptions(kind, t, o.user)}`);
  if (o.shmSize) args.push('--shm-size', o.shmSize);
  if (o.apparmorProfile) args.push('--security-opt', `apparmor=${o.apparmorProfile}`);
  for (const ulimit of o.ulimits ?? DEFAULT_ULIMITS) args.push('--ulimit', ulimit);
  if (kind === 'podman') {
    // The log is how a restarted supervisor recovers output it missed; make sure `logs` can read it.
    args.push('--log-driver', 'k8s-file');
    // podman copies the host's proxy variables (with their passwords) into containers by default.
    args.push('--http-proxy=false');
    // A container of this name can only be a stale copy of the same job (names are per job), e.g.
    // created by the runtime client of a supervisor that crashed before it recorded the start.
    args.push('--replace');
  }
  if (o.logMaxSize) args.push('--log-opt', `max-size=${o.logMaxSize}`);
  for (const m of o.mounts) args.push('--volume', `${m.source}:${m.target}${m.readonly ? ':ro' : ''}`);
  for (const [key, value] of Object.entries(o.env)) args.push('--env', `${key}=${value}`);
  for (const key of Object.keys(o.secretEnv)) args.push('--env', key);
  if (o.entrypoint) args.push('--entrypoint', o.entrypoint);
  args.push(o.image, ...o.command);
  return args;
}

/**
 * A tmpfs's mount options. An `owned` one belongs to the container's user: podman's `U` (its
 * tmpfs also gets a copy of what the image has at that path), docker's uid/gid.
 */
function tmpfsOptions(
  kind: RuntimeKind,
  t: { size: string; owned?: boolean | undefined },
  user: string,
): string {
  const options = ['rw', 'nosuid', 'nodev', `size=${t.size}`];
  if (t.owned) {
    if (kind === 'podman') options.push('U');
    else {
      const [uid = '', gid = uid] = user.split(':');
      options.push(`uid=${uid}`, `gid=${gid}`);
    }
  }
  return options.join(',');
}
