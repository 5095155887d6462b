import { z } from 'zod';

/**
 * The `engines` config key: where job containers run when one host is not enough. Each entry is
 * an engine the user already operates, reached through that engine's own remote mechanism:
 *
 * - podman: the local podman (no `url`/`connection`), or its service API elsewhere
 *   (`podman system service`): `url` as `unix://…`, `ssh://user@host/run/podman/podman.sock` or
 *   `tcp://…`, or a named `podman system connection`;
 * - docker: the local Docker Engine, or another one through `host` (DOCKER_HOST: `unix://`,
 *   `ssh://`, `tcp://`) or a docker `context`;
 * - kubernetes: a cluster from a kubeconfig (its current context, or `context`), one namespace.
 *
 * Without `engines`, the seed's single `runtime` key names the one local engine (`local`).
 */
export const ENGINE_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;

const common = {
  name: z
    .string()
    .regex(ENGINE_NAME, 'lower-case letters, digits and "-", at most 31 characters')
    .describe('A name for the engine: jobs record where they run by it'),
  maxConcurrentJobs: z
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe('Jobs this engine runs at once (default: the top-level maxConcurrentJobs)'),
};

/** A host path prefix and where the engine's host sees the same files (a shared filesystem). */
const sharedPathSchema = z.strictObject({
  host: z.string().min(1).describe('A directory on this host, e.g. /mnt/shared/claude-pod'),
  engine: z.string().min(1).describe("The same directory as the engine's host mounts it"),
});

const remoteCommon = {
  sharedPaths: z
    .array(sharedPathSchema)
    .optional()
    .describe(
      'Directories the engine host sees too (NFS, …): workspaces and transcripts under them are bind-mounted ' +
        'instead of copied into volumes',
    ),
};

export const podmanEngineSchema = z.strictObject({
  ...common,
  ...remoteCommon,
  kind: z.literal('podman'),
  url: z
    .string()
    .regex(/^(unix|ssh|tcp):\/\//, 'unix://, ssh:// or tcp://')
    .optional()
    .describe("The podman service's URL (podman --remote --url)"),
  connection: z.string().min(1).optional().describe('A `podman system connection` name'),
  identity: z.string().min(1).optional().describe('SSH key for an ssh:// url (podman --identity)'),
});

export const dockerEngineSchema = z.strictObject({
  ...common,
  ...remoteCommon,
  kind: z.literal('docker'),
  host: z
    .string()
    .regex(/^(unix|ssh|tcp):\/\//, 'unix://, ssh:// or tcp://')
    .optional()
    .describe('DOCKER_HOST of the engine'),
  context: z.string().min(1).optional().describe('A docker context name'),
});

export const kubernetesEngineSchema = z.strictObject({
  ...common,
  kind: z.literal('kubernetes'),
  kubeconfig: z
    .string()
    .min(1)
    .optional()
    .describe('kubeconfig file (default: KUBECONFIG or ~/.kube/config)'),
  context: z.string().min(1).optional().describe('kubeconfig context (default: its current context)'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .default('claude-pod')
    .describe('Namespace the job pods run in'),
  storageClass: z
    .string()
    .min(1)
    .optional()
    .describe('StorageClass of the session PVCs (default: the cluster default)'),
  workspaceSize: z
    .string()
    .regex(/^\d+(Ki|Mi|Gi|Ti)$/)
    .default('5Gi')
    .describe('Size of each session PVC (workspace and transcripts)'),
  imagePullPolicy: z.enum(['Never', 'IfNotPresent', 'Always']).default('IfNotPresent'),
});

export const engineConfigSchema = z.discriminatedUnion('kind', [
  podmanEngineSchema,
  dockerEngineSchema,
  kubernetesEngineSchema,
]);

export type EngineConfig = z.output<typeof engineConfigSchema>;
export type EngineConfigInput = z.input<typeof engineConfigSchema>;

/** The engine jobs of a config without `engines` run on (and the one old registries imply). */
export const DEFAULT_ENGINE = 'local';

/** Whether an engine runs elsewhere: its containers see none of this host's paths or sockets. */
export function isRemoteEngine(e: EngineConfig): boolean {
  if (e.kind === 'kubernetes') return true;
  if (e.kind === 'podman') return e.url !== undefined || e.connection !== undefined;
  return e.host !== undefined || e.context !== undefined;
}
