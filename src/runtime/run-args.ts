import type { RuntimeKind } from './runtime-info.js';

export interface Mount {
  source: string;
  target: string;
  readonly?: boolean;
}

/** Everything that decides how a job's container runs. Pure data: `buildRunArgs` turns it into argv. */
export interface ContainerRunOptions {
  kind: RuntimeKind;
  containerName: string;
  labels: Record<string, string>;
  image: string;
  memory: string;
  cpus: string;
  pidsLimit: number;
  tmpfsSize: string;
  network: 'none' | 'bridge' | 'host';
  apparmorProfile: string;
  /** `uid:gid` inside the container; never root. */
  user: string;
  mounts: Mount[];
  env: Record<string, string>;
  workdir: string;
  entrypoint?: string;
  /** The command and its arguments, passed as separate argv entries: never through a shell. */
  command: string[];
  /** Extra `--ulimit` values; the runtime's defaults exceed the hard limits on some hosts. */
  ulimits?: string[];
}

export const DEFAULT_ULIMITS = ['nofile=4096:4096', 'nproc=4096:4096'];

/**
 * The hardened `run` invocation (everything after the runtime's global flags). The container is
 * not `--rm`: we remove it ourselves once its exit status and log are safely recorded, so a crash
 * of the host process in between loses nothing.
 */
export function buildRunArgs(o: ContainerRunOptions): string[] {
  const args = ['run', '--name', o.containerName, '--sig-proxy=false', '--init'];
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
  if (o.apparmorProfile) args.push('--security-opt', `apparmor=${o.apparmorProfile}`);
  for (const ulimit of o.ulimits ?? DEFAULT_ULIMITS) args.push('--ulimit', ulimit);
  // The log is how a restarted supervisor recovers output it missed; make sure `logs` can read it.
  if (o.kind === 'podman') args.push('--log-driver', 'k8s-file');
  // A container of this name can only be a stale copy of the same job (names are per job), e.g.
  // created by the runtime client of a supervisor that crashed before it recorded the start.
  if (o.kind === 'podman') args.push('--replace');
  for (const m of o.mounts) args.push('--volume', `${m.source}:${m.target}${m.readonly ? ':ro' : ''}`);
  for (const [key, value] of Object.entries(o.env)) args.push('--env', `${key}=${value}`);
  if (o.entrypoint) args.push('--entrypoint', o.entrypoint);
  args.push(o.image, ...o.command);
  return args;
}
