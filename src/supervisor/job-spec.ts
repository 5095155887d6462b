import { LABEL_JOB, LABEL_MANAGED, LABEL_OWNER, LABEL_SESSION } from '../runtime/labels.js';
import { containerUserNamespace } from '../runtime/user-namespace.js';
import type { ResolvedConfig } from '../shared/config.js';
import { formatSize } from '../shared/sizes.js';
import type { ContainerSpec, JobSpec, Mount, RuntimeSpec } from '../shared/protocol.js';
import type { ApiAccess } from './api-gate.js';
import { egressProxyEnv, noProxyEnv } from './egress-env.js';
import type { JobRecord } from './records.js';
import type { RemoteParts } from './remote-job.js';

/** The container user: never root. Our image's `agent` user has this uid/gid. */
export const CONTAINER_USER = '1000:1000';
export const CONTAINER_HOME = '/home/agent';
export const CONTAINER_WORKDIR = '/workspace';
export const PROXY_MOUNT = '/run/claude-pod';
export const DEFAULT_FORWARDER_PORT = 8119;
/** /var/tmp and /dev/shm: small tmpfs mounts (their pages count against the memory limit). */
export const VAR_TMP_SIZE = '32m';
export const SHM_SIZE = '64m';

const MiB = 1024 * 1024;
/** The container log's cap when output is unlimited (maxOutputSize 0). */
export const UNLIMITED_OUTPUT_LOG_CAP = 1024 * MiB;

/**
 * The cap on the runtime's own copy of the container log (`--log-opt max-size`). A restarted
 * supervisor recovers output by replaying that log from its first byte, and conmon starts the
 * log afresh once it passes the cap, so the cap must hold all output within maxOutputSize with
 * the k8s-file framing: a 45-byte header per line (or per 8 KiB piece of a longer one). Twice
 * the output covers lines down to 45 bytes (Claude Code's stream-json lines are 180 bytes and
 * up: a 25% overhead at most), plus 16 MiB for stderr. Output past maxOutputSize may rotate the
 * log; the output file is capped anyway, but a replay after a crash then starts mid-stream.
 */
export function containerLogCap(maxOutputSize: number): number {
  return maxOutputSize > 0 ? 2 * maxOutputSize + 16 * MiB : UNLIMITED_OUTPUT_LOG_CAP;
}

/**
 * The arguments Claude Code gets. The prompt is not among them: it reaches Claude Code on its
 * stdin (`ContainerSpec.stdin`), so no `ps` on the host or in the container shows it.
 */
export function claudeCommand(resume: string | null): string[] {
  const cmd = [
    'claude',
    '-p',
    '--output-format',
    'stream-json',
    '--verbose',
    '--dangerously-skip-permissions',
  ];
  if (resume) cmd.push('--resume', resume);
  return cmd;
}

/**
 * Where a job's container can write besides its mounts. Nothing lands in its writable layer (on
 * the host's disk, unbounded): the image is read-only, and /tmp, /var/tmp, the home directory
 * (with the image's copied in) and /dev/shm are sized tmpfs mounts. Their pages count against
 * the memory limit, so together they stay well below it (doctor checks).
 */
export function writableLayers(
  config: Pick<ResolvedConfig, 'tmpfsSize' | 'homeSize'>,
): Pick<ContainerSpec, 'tmpfsSize' | 'readOnlyRootfs' | 'tmpfsMounts' | 'shmSize'> {
  return {
    tmpfsSize: config.tmpfsSize,
    readOnlyRootfs: true,
    tmpfsMounts: [
      { target: '/var/tmp', size: VAR_TMP_SIZE },
      { target: CONTAINER_HOME, size: config.homeSize, owned: true },
    ],
    shmSize: SHM_SIZE,
  };
}

interface JobSpecArgs {
  config: ResolvedConfig;
  runtime: RuntimeSpec;
  ownerId: string;
  job: JobRecord;
  containerName: string;
  outputPath: string;
  /** The output file, opened by the supervisor. */
  outputFd?: number;
  workspaceDir: string;
  /** The session's Claude config directory (transcripts, for --resume). */
  claudeDir: string;
  /** Touched by the API proxy while the job's API connection carries bytes. */
  activityFile?: string;
  /** `run` starts a container (needs the job's API access); `attach` follows an existing one. */
  mode: 'run' | 'attach';
  api?: ApiAccess;
  /** The staged container/runtime folder (stage-runtime.ts). */
  runtimeDir: string;
  /** The engine is elsewhere: volumes instead of bind mounts, the API through a tunnel. */
  remote?: RemoteParts;
}

export function buildJobSpec(args: JobSpecArgs): JobSpec {
  const { config, runtime, job } = args;
  let container: ContainerSpec | null = null;
  if (args.mode === 'run') {
    if (!args.api) throw new Error('this should not happen: a run without API access');
    container = containerSpec({ ...args, api: args.api });
  }
  return {
    jobId: job.jobId,
    sessionId: job.sessionId,
    mode: args.mode,
    runtime,
    containerName: args.containerName,
    container,
    outputPath: args.outputPath,
    ...(args.outputFd === undefined ? {} : { outputFd: args.outputFd }),
    ...(args.activityFile === undefined ? {} : { activityFile: args.activityFile }),
    ...(args.remote ? { remote: args.remote.job } : {}),
    maxOutputSize: config.maxOutputSize,
    maxLineBytes: config.maxLineBytes,
    // Filesystems whose filling up stops the job (DISK_QUOTA): size-limited images where the host
    // allows them, else the host's own filesystem.
    diskPaths: [args.workspaceDir, args.claudeDir],
    startupTimeoutSeconds: config.startupTimeout,
    idleTimeoutSeconds: config.idleTimeout,
    metricsIntervalMs: config.metricsIntervalSeconds * 1000,
    cancelGraceMs: config.cancelGraceSeconds * 1000,
    progressIntervalMs: 250,
    image: config.image,
  };
}

/** A job's hardened container: mounts, environment, labels, Claude's command and its prompt. */
export function containerSpec(args: JobSpecArgs & { api: ApiAccess }): ContainerSpec {
  const { config, job, api } = args;
  // With the host's network the container's loopback is the host's: give each job its own port.
  const port =
    config.network === 'host' ? 20000 + (parseInt(job.jobId.slice(-4), 16) % 20000) : DEFAULT_FORWARDER_PORT;
  const mounts: Mount[] = args.remote
    ? args.remote.mounts
    : [
        { source: args.workspaceDir, target: CONTAINER_WORKDIR },
        { source: args.claudeDir, target: `${CONTAINER_HOME}/.claude` },
        { source: api.socketDir, target: PROXY_MOUNT, readonly: true },
        { source: args.runtimeDir, target: '/opt/claude-pod', readonly: true },
      ];
  const env: Record<string, string> = {
    HOME: CONTAINER_HOME,
    CLAUDE_CONFIG_DIR: `${CONTAINER_HOME}/.claude`,
    IS_SANDBOX: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
    CLAUDE_POD_API_PORT: String(port),
    ...(args.remote?.env ?? {}),
  };
  // Rootless podman: the host user is the container user, so workspace files stay the user's.
  const userns = containerUserNamespace(args.runtime, CONTAINER_USER);
  const secretEnv: Record<string, string> =
    api.kind === 'oauth' ? { CLAUDE_CODE_OAUTH_TOKEN: api.token } : { ANTHROPIC_API_KEY: api.token };
  // `proxy`: no network but loopback (as `none`); HTTP(S) goes through the forwarder to the host's proxy.
  if (config.network === 'proxy') {
    Object.assign(env, noProxyEnv());
    Object.assign(secretEnv, egressProxyEnv(port, api.token));
  }

  return {
    name: args.containerName,
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_OWNER]: args.ownerId,
      [LABEL_JOB]: job.jobId,
      [LABEL_SESSION]: job.sessionId,
    },
    image: config.image,
    memory: config.memory,
    cpus: config.cpus,
    pidsLimit: config.pidsLimit,
    ...writableLayers(config),
    logMaxSize: formatSize(containerLogCap(config.maxOutputSize)),
    network: config.network === 'proxy' ? 'none' : config.network,
    apparmorProfile: config.apparmorProfile,
    user: CONTAINER_USER,
    ...(userns ? { userns } : {}),
    mounts,
    env,
    secretEnv,
    workdir: CONTAINER_WORKDIR,
    entrypoint: '/opt/claude-pod/entrypoint.sh',
    command: claudeCommand(job.resumeClaudeSessionId),
    stdin: job.prompt,
  };
}
