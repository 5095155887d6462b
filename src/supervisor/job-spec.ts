import { join } from 'node:path';
import { LABEL_JOB, LABEL_MANAGED, LABEL_OWNER, LABEL_SESSION } from '../runtime/labels.js';
import { buildRunArgs, type Mount } from '../runtime/run-args.js';
import type { ResolvedConfig } from '../shared/config.js';
import type { JobSpec, RuntimeSpec } from '../shared/protocol.js';
import type { ApiAccess } from './api-gate.js';
import type { JobRecord, SessionRecord } from './records.js';

/** The container user: never root. Our image's `agent` user has this uid/gid. */
export const CONTAINER_USER = '1000:1000';
export const CONTAINER_HOME = '/home/agent';
export const CONTAINER_WORKDIR = '/workspace';
export const PROXY_MOUNT = '/run/claude-pod';
export const DEFAULT_FORWARDER_PORT = 8119;

/**
 * The arguments Claude Code gets. The prompt comes after `--`, so a prompt that begins with
 * `-` is still a prompt, and it is one argv entry: no shell ever sees it.
 */
export function claudeCommand(prompt: string, resume: string | null): string[] {
  const cmd = [
    'claude',
    '-p',
    '--output-format',
    'stream-json',
    '--verbose',
    '--dangerously-skip-permissions',
  ];
  if (resume) cmd.push('--resume', resume);
  cmd.push('--', prompt);
  return cmd;
}

interface JobSpecArgs {
  config: ResolvedConfig;
  runtime: RuntimeSpec;
  ownerId: string;
  job: JobRecord;
  session: SessionRecord;
  /** `run` starts a container (needs the job's API access); `attach` follows an existing one. */
  mode: 'run' | 'attach';
  api?: ApiAccess;
  /** The staged container/runtime folder (stage-runtime.ts). */
  runtimeDir: string;
}

export function buildJobSpec(args: JobSpecArgs): JobSpec {
  const { config, runtime, job } = args;
  let runArgs: string[] = [];
  if (args.mode === 'run') {
    if (!args.api) throw new Error('this should not happen: a run without API access');
    runArgs = containerRunArgs({ ...args, api: args.api });
  }
  return {
    jobId: job.jobId,
    sessionId: job.sessionId,
    mode: args.mode,
    runtime,
    containerName: job.containerName,
    runArgs,
    outputPath: job.outputPath,
    maxOutputSize: config.maxOutputSize,
    startupTimeoutSeconds: config.startupTimeout,
    idleTimeoutSeconds: config.idleTimeout,
    metricsIntervalMs: config.metricsIntervalSeconds * 1000,
    cancelGraceMs: config.cancelGraceSeconds * 1000,
    progressIntervalMs: 250,
    image: config.image,
  };
}

/** The hardened `run` argv of a job's container: mounts, environment, labels, Claude's command. */
function containerRunArgs(args: JobSpecArgs & { api: ApiAccess }): string[] {
  const { config, runtime, job, session, api } = args;
  // With the host's network the container's loopback is the host's: give each job its own port.
  const port =
    config.network === 'host' ? 20000 + (parseInt(job.jobId.slice(-4), 16) % 20000) : DEFAULT_FORWARDER_PORT;
  const mounts: Mount[] = [
    { source: session.workspaceDir, target: CONTAINER_WORKDIR },
    { source: join(session.stateDir, 'claude'), target: `${CONTAINER_HOME}/.claude` },
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
  };
  if (api.kind === 'oauth') env.CLAUDE_CODE_OAUTH_TOKEN = api.token;
  else env.ANTHROPIC_API_KEY = api.token;

  return buildRunArgs({
    kind: runtime.kind,
    containerName: job.containerName,
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
    tmpfsSize: config.tmpfsSize,
    network: config.network,
    apparmorProfile: config.apparmorProfile,
    user: CONTAINER_USER,
    mounts,
    env,
    workdir: CONTAINER_WORKDIR,
    entrypoint: '/opt/claude-pod/entrypoint.sh',
    command: claudeCommand(job.prompt, job.resumeClaudeSessionId),
  });
}
