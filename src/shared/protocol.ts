/**
 * The one message protocol between the supervisor (main thread) and a job worker. Both sides
 * import this file; every message is validated with these schemas where it crosses, and every
 * switch over `type` ends in `assertNever`, so a new message kind cannot be half-handled.
 */
import type { MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import { ErrorCodes } from './errors.js';

export const jobStates = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];
export const terminalStates: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export const activityStates = ['active', 'processing', 'idle'] as const;
export type ActivityState = (typeof activityStates)[number];

const serializedErrorSchema = z.object({
  code: z.enum(ErrorCodes),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const metricsSchema = z.object({
  cpuPercent: z.number(),
  memoryBytes: z.number(),
  memoryLimitBytes: z.number().nullable(),
  pids: z.number().nullable(),
  sampledAt: z.number(),
  source: z
    .enum(['cgroup', 'stats'])
    .describe("cgroup: read from the container's cgroup files; stats: the runtime's stats command"),
});
export type JobMetrics = z.infer<typeof metricsSchema>;

/** What Claude Code itself reported, from its `system/init` and `result` events. */
export const claudeReportSchema = z.object({
  sessionId: z.string().nullable(),
  model: z.string().nullable(),
  numTurns: z.number().nullable(),
  costUsd: z.number().nullable(),
  durationMs: z.number().nullable(),
  usage: z.record(z.string(), z.unknown()).nullable(),
  result: z.string().nullable(),
  resultSubtype: z.string().nullable(),
  isError: z.boolean().nullable(),
});
export type ClaudeReport = z.infer<typeof claudeReportSchema>;

export const emptyClaudeReport = (): ClaudeReport => ({
  sessionId: null,
  model: null,
  numTurns: null,
  costUsd: null,
  durationMs: null,
  usage: null,
  result: null,
  resultSubtype: null,
  isError: null,
});

/** The worker's running picture of a job; sent throttled, small and bounded in size. */
export const progressSchema = z.object({
  outputSize: z.number(),
  tailOutput: z.string(),
  firstOutputAt: z.number().nullable(),
  lastOutputAt: z.number().nullable(),
  lines: z.number(),
  /**
   * Lines longer than the job's maxLineBytes: written to the output as they came (within
   * maxOutputSize) but never held or parsed. Absent from workers that predate it.
   */
  linesCut: z.number().optional(),
  events: z.number(),
  truncated: z.boolean(),
  activityState: z.enum(activityStates),
  metrics: metricsSchema.nullable(),
  claude: claudeReportSchema,
});
export type JobProgress = z.infer<typeof progressSchema>;

/**
 * How a worker's following of a job ended. `detached`: asked to stop, the container runs on;
 * `unknown`: the runtime could not tell how (or whether) the container ended — the supervisor
 * keeps the job and looks again, it never guesses an exit.
 */
export const outcomeSchema = z.object({
  status: z.enum(['completed', 'failed', 'cancelled', 'detached', 'unknown']),
  exitCode: z.number().nullable(),
  error: serializedErrorSchema.nullable(),
  progress: progressSchema,
  endedAt: z.number(),
});
export type JobOutcome = z.infer<typeof outcomeSchema>;

export const workerMessageSchema = z.discriminatedUnion('type', [
  /** The worker has taken the job; it runs nothing until the supervisor says `launch`. */
  z.object({ type: z.literal('ready'), jobId: z.string() }),
  /** The runtime client was started (`run` or `logs --follow`). */
  z.object({ type: z.literal('launched'), jobId: z.string(), at: z.number() }),
  /** The container was seen running (its first output, or the runtime said so). */
  z.object({ type: z.literal('started'), jobId: z.string(), at: z.number() }),
  z.object({ type: z.literal('progress'), jobId: z.string(), progress: progressSchema }),
  z.object({ type: z.literal('ended'), jobId: z.string(), outcome: outcomeSchema }),
  z.object({ type: z.literal('error'), jobId: z.string(), error: serializedErrorSchema }),
  z.object({
    type: z.literal('log'),
    jobId: z.string(),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    msg: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;

export const supervisorMessageSchema = z.discriminatedUnion('type', [
  /** Recorded on disk that a container may exist from now on: run (or follow) it. */
  z.object({ type: z.literal('launch'), jobId: z.string() }),
  z.object({ type: z.literal('cancel'), jobId: z.string() }),
  /** The supervisor is closing: stop following, leave the container running for a later attach. */
  z.object({ type: z.literal('detach'), jobId: z.string() }),
]);
export type SupervisorMessage = z.infer<typeof supervisorMessageSchema>;

/** How the worker reaches the container runtime. */
/** How a worker reaches a Kubernetes engine (kubernetes-engine.ts). */
export const kubeSpecSchema = z.object({
  kubeconfig: z.string().optional(),
  context: z.string().optional(),
  namespace: z.string(),
  storageClass: z.string().optional(),
  workspaceSize: z.string(),
  imagePullPolicy: z.enum(['Never', 'IfNotPresent', 'Always']),
});
export type KubeSpec = z.infer<typeof kubeSpecSchema>;

export const runtimeSpecSchema = z.object({
  kind: z.enum(['podman', 'docker', 'kubernetes']),
  command: z.string(),
  /** Global flags before the verb, e.g. `--runtime runc`. */
  globalArgs: z.array(z.string()),
  /** Environment the client needs to reach its engine (CONTAINER_HOST, DOCKER_HOST, …). */
  env: z.record(z.string(), z.string()).optional(),
  /** The engine runs elsewhere: no cgroup files or pids to read on this host. */
  remote: z.boolean().optional(),
  /** The engine runs as an unprivileged user (rootless podman): container uids are that user's subuids. */
  rootless: z.boolean().optional(),
  /** kind `kubernetes`: the cluster and namespace (command and globalArgs are unused). */
  kube: kubeSpecSchema.optional(),
});
export type RuntimeSpec = z.infer<typeof runtimeSpecSchema>;

export const mountSchema = z.object({
  /** A host path (bind mount), or the name of a volume on the engine's host (a PVC on Kubernetes). */
  source: z.string(),
  target: z.string(),
  readonly: z.boolean().optional(),
  /** `volume`: `source` names a volume on the engine's host, never a path of this one. Default: bind. */
  type: z.enum(['bind', 'volume']).optional(),
  /** A directory inside the volume to mount instead of its root (Kubernetes: one PVC per session). */
  subPath: z.string().optional(),
});
export type Mount = z.infer<typeof mountSchema>;

/** Everything that decides how a job's container runs: pure data, turned into argv or API calls by an engine. */
export const containerSpecSchema = z.object({
  name: z.string(),
  image: z.string(),
  labels: z.record(z.string(), z.string()),
  memory: z.string(),
  cpus: z.string(),
  pidsLimit: z.number(),
  tmpfsSize: z.string(),
  network: z.enum(['none', 'bridge', 'host']),
  apparmorProfile: z.string(),
  /** `uid:gid` inside the container; never root. */
  user: z.string(),
  /**
   * The user namespace (`--userns`), e.g. `keep-id:uid=1000,gid=1000` on rootless podman, so
   * the container user is the host user and what it writes to mounts belongs to that user.
   */
  userns: z.string().optional(),
  mounts: z.array(mountSchema),
  /** Plain environment: may appear in an engine's argv or API calls (never a secret). */
  env: z.record(z.string(), z.string()),
  /** Secret environment (the capability token): never in an argv another local user could read. */
  secretEnv: z.record(z.string(), z.string()),
  workdir: z.string(),
  entrypoint: z.string().optional(),
  /** The command and its arguments, as separate entries: never through a shell. */
  command: z.array(z.string()),
  /** Written to the container's stdin, which is then closed (the prompt: never in argv). */
  stdin: z.string().optional(),
  /** Cap on the engine's own copy of the container log (e.g. "64m"). */
  logMaxSize: z.string().optional(),
  /**
   * The image's root filesystem read-only: nothing the container writes lands in its writable
   * layer on the host's disk. Only the mounts and `tmpfsMounts` (and /tmp) are writable.
   */
  readOnlyRootfs: z.boolean().optional(),
  /** Size-limited tmpfs mounts besides /tmp; `owned`: belongs to the container's user. */
  tmpfsMounts: z
    .array(z.object({ target: z.string(), size: z.string(), owned: z.boolean().optional() }))
    .optional(),
  /** Size of /dev/shm (a tmpfs too). */
  shmSize: z.string().optional(),
  /** `--ulimit` values; the runtime's defaults exceed the hard limits on some hosts. */
  ulimits: z.array(z.string()).optional(),
});
export type ContainerSpec = z.infer<typeof containerSpecSchema>;

/** A volume a remote job mounts, kept in step with a directory of this host. */
export const syncedVolumeSchema = z.object({
  volume: z.string(),
  /** Inside the volume (Kubernetes: the session PVC's sub-directory); absent: its root. */
  subPath: z.string().optional(),
  hostDir: z.string(),
  /** `seed`: copied in before the run; `both`: also copied back after the end. */
  direction: z.enum(['seed', 'both']),
});
export type SyncedVolume = z.infer<typeof syncedVolumeSchema>;

export const remoteJobSchema = z.object({
  volumes: z.array(syncedVolumeSchema),
  /** Labels for the volumes and helper containers, so they can be found and reaped. */
  labels: z.record(z.string(), z.string()),
  /** The volume (ConfigMap on Kubernetes) holding what runs before Claude Code, and its source here. */
  runtimeVolume: z.string(),
  runtimeDir: z.string(),
  /** The job's model-API proxy socket on this host; null when the engine reaches the proxy itself. */
  apiSocket: z.string().nullable(),
  image: z.string(),
});
export type RemoteJob = z.infer<typeof remoteJobSchema>;

export const jobSpecSchema = z.object({
  jobId: z.string(),
  sessionId: z.string(),
  /** `run` starts the container; `attach` follows one that a previous supervisor started. */
  mode: z.enum(['run', 'attach']),
  runtime: runtimeSpecSchema,
  containerName: z.string(),
  /** The container to run (mode `run`); null when attaching to one that exists. */
  container: containerSpecSchema.nullable(),
  outputPath: z.string(),
  /** The output file, opened by the supervisor (which closes it whatever becomes of the worker). */
  outputFd: z.number().int().optional(),
  /** Touched by the API proxy while bytes flow through the job's connection (idle watchdog). */
  activityFile: z.string().optional(),
  maxOutputSize: z.number(),
  /**
   * A remote engine: its containers see nothing of this host. Volumes are seeded from this host's
   * directories before the container runs and copied back once it has ended; the model API is
   * reached through a tunnel over the engine's own exec channel to the proxy's socket here.
   */
  remote: remoteJobSchema.optional(),
  /** Longest stdout line the worker holds and parses (config `maxLineBytes`); absent: the default. */
  maxLineBytes: z.number().int().positive().optional(),
  /**
   * Host paths of the filesystems the job writes that persist (its workspace, Claude's state):
   * one that fills up fails the job with DISK_QUOTA (checked with every metrics sample).
   */
  diskPaths: z.array(z.string()).optional(),
  startupTimeoutSeconds: z.number(),
  idleTimeoutSeconds: z.number(),
  metricsIntervalMs: z.number(),
  cancelGraceMs: z.number(),
  progressIntervalMs: z.number(),
  image: z.string(),
});
export type JobSpec = z.infer<typeof jobSpecSchema>;

/**
 * The thread's own channel between the pool and the actor host of one worker thread. A job's
 * messages stay the ones above, on the job's own port; this channel carries what concerns the
 * thread: jobs handed to it, its jobs' progress coalesced into one message per tick, and how each
 * of its jobs ended (the pool settles the job's task with it).
 */
export const hostCommandSchema = z.discriminatedUnion('type', [
  /** Host this job: `port` is the worker's end of the job's own MessageChannel (transferred). */
  z.object({
    type: z.literal('host'),
    key: z.number().int(),
    spec: jobSpecSchema,
    port: z.custom<MessagePort>((v) => typeof (v as MessagePort | null)?.postMessage === 'function'),
  }),
  /** The pool will place no more jobs here: end once the last actor has ended. */
  z.object({ type: z.literal('retire') }),
]);
export type HostCommand = z.infer<typeof hostCommandSchema>;

/**
 * One progress tick of a thread: the jobs whose progress changed since the last one. `message` is
 * the job's own `progress` message, handed to the job's `onMessage` as if it had come on its port
 * (and validated there, once); `bytesIn` is the job's stdout so far, for placement by load.
 */
export const progressEntrySchema = z.object({
  key: z.number().int(),
  bytesIn: z.number(),
  message: z.unknown(),
});
export type ProgressEntry = z.infer<typeof progressEntrySchema>;

export const hostReportSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progressBatch'), entries: z.array(progressEntrySchema) }),
  /** The job's actor ended with this outcome (its `ended` went out on the job's port too). */
  z.object({ type: z.literal('settled'), key: z.number().int(), outcome: outcomeSchema }),
  /** The job's actor threw: the job's task fails (WORKER_CRASHED), its thread-mates go on. */
  z.object({ type: z.literal('failed'), key: z.number().int(), error: serializedErrorSchema }),
]);
export type HostReport = z.infer<typeof hostReportSchema>;

/** The piscina task: one actor host, for as long as the thread hosts jobs. */
export interface HostTask {
  /** The worker's end of the thread's channel (transferred). */
  control: MessagePort;
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`this should not happen: unexpected ${what} ${JSON.stringify(value)}`);
}
