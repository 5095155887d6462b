import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { engineConfigSchema } from './engine-config.js';
import { ClaudePodError, ErrorCodes } from './errors.js';
import { parseAllowlistEntry } from './egress-allowlist.js';
import { DEFAULT_OAUTH_TOKEN_URL, DEFAULT_REFRESH_MARGIN_SECONDS } from './oauth-endpoint.js';
import { expandHome } from './paths.js';
import { parseSize } from './sizes.js';

/** The smallest size-limited filesystem we make (a smaller ext4 is mostly metadata). */
export const MIN_DISK_BYTES = 16 * 1024 * 1024;

/** The image `claude-pod setup` builds locally (no registry is needed). */
export const DEFAULT_IMAGE = 'localhost/claude-pod-agent:latest';

const memorySize = z.string().regex(/^\d+(\.\d+)?[bkmgBKMG]?$/, 'a size such as "512m" or "2g"');
/** A size-limited filesystem: "0" (no limit) or at least 16 MiB (ext4's own metadata needs room). */
const diskSize = memorySize.refine(
  (v) => parseSize(v) === 0 || parseSize(v) >= MIN_DISK_BYTES,
  'a size of at least "16m", or "0" for no limit',
);

/**
 * Every key of the seed plugin (same names, same defaults except `image`, which names the image
 * we build locally), then ours. Unknown keys are an error that names the key: a typo in
 * `openclaw.json` must not silently fall back to a default.
 */
export const configSchema = z.strictObject({
  // ---- the seed's keys ----
  image: z.string().min(1).default(DEFAULT_IMAGE).describe('Container image for Claude Code'),
  runtime: z.enum(['podman', 'docker']).default('podman').describe('Container runtime (podman or docker)'),
  startupTimeout: z
    .number()
    .positive()
    .default(30)
    .describe('Seconds to wait for container to produce first output'),
  idleTimeout: z
    .number()
    .positive()
    .default(120)
    .describe('Kill container after this many seconds of no output'),
  memory: memorySize.default('512m').describe('Memory limit for containers'),
  cpus: z
    .union([z.string().regex(/^\d+(\.\d+)?$/, 'a number of CPUs such as "1.0"'), z.number().positive()])
    .transform((v) => String(v))
    .default('1.0')
    .describe('CPU limit for containers'),
  network: z
    .enum(['none', 'proxy', 'bridge', 'host'])
    .default('none')
    .describe(
      'Network mode (none, proxy, bridge, host). The model API is always reached through the host-side proxy, ' +
        'so "none" (our default; the seed defaulted to bridge) leaves the container no other egress; ' +
        '"proxy" keeps the container on loopback only and lets HTTP(S) through the host-side proxy to the ' +
        'hosts in egressAllowlist.',
    ),
  sessionsDir: z
    .string()
    .min(1)
    .default('~/.openclaw/claude-sessions')
    .describe('Directory for session metadata'),
  workspacesDir: z
    .string()
    .min(1)
    .default('~/.openclaw/workspaces')
    .describe('Directory for session workspaces'),
  sessionIdleTimeout: z
    .number()
    .nonnegative()
    .default(3600)
    .describe('Cleanup idle sessions after this many seconds (0 = never)'),
  apparmorProfile: z.string().default('').describe('AppArmor profile name (empty = disabled)'),
  maxOutputSize: z
    .number()
    .int()
    .nonnegative()
    .default(10 * 1024 * 1024)
    .describe('Maximum output size in bytes (10MB default, 0 = unlimited)'),
  maxLineBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(256 * 1024 * 1024)
    .default(4 * 1024 * 1024)
    .describe(
      'Longest line of Claude Code output held in memory and parsed, in bytes (4 MiB default). ' +
        'A longer line still goes to the output file as it comes (within maxOutputSize), is never ' +
        'parsed, and is counted in the status (linesCut): host memory stays bounded whatever a job prints.',
    ),
  notifyWebhookUrl: z
    .string()
    .default('http://localhost:18789/hooks/agent')
    .describe('OpenClaw webhook URL for notifications'),
  hooksToken: z
    .string()
    .default('')
    .describe('Webhook auth token (must match OpenClaw hooks.token to enable notifications)'),

  // ---- ours ----
  maxConcurrentJobs: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(4)
    .describe('Jobs running at once (containers); further jobs wait as "pending"'),
  workerThreads: z
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe(
      'Worker threads that host the running jobs (each job stays its own actor: runner, port, container, ' +
        'output file). Default: one thread per job up to ' +
        'min(4, CPU cores) threads (at least 2), then jobs share the least-loaded thread. ' +
        'Set it to maxConcurrentJobs for one thread per job.',
    ),
  maxPendingJobs: z.number().int().min(0).default(1000).describe('Jobs that may wait for a slot'),
  pidsLimit: z.number().int().min(16).default(512).describe('PID limit for containers'),
  tmpfsSize: memorySize
    .default('128m')
    .describe(
      'Size of the /tmp tmpfs inside the container. Its pages count against `memory`, so keep it well below it: ' +
        'a full /tmp then gives ENOSPC rather than an OOM kill.',
    ),
  homeSize: memorySize
    .default('96m')
    .describe(
      "Size of the tmpfs at /home/agent (the image's home is copied in; counted in `memory`). The rest of the " +
        "container's root filesystem is read-only.",
    ),
  maxWorkspaceSize: diskSize
    .default('4g')
    .describe(
      "Size limit of each session's workspace: a loop-mounted ext4 image of this size, allocated as it fills " +
        '("0" = no limit). Needs a supervisor running as root; `doctor` says whether it is enforced. A job that ' +
        'fills it fails with DISK_QUOTA.',
    ),
  maxStateSize: diskSize
    .default('1g')
    .describe(
      "Size limit of each session's Claude state (~/.claude: transcripts for --resume), enforced like " +
        'maxWorkspaceSize ("0" = no limit)',
    ),
  apiBaseUrl: z
    .string()
    .url()
    .default('https://api.anthropic.com')
    .describe('Upstream model API the host-side proxy forwards to; the container never sees the credentials'),
  credentialsPath: z
    .string()
    .default('~/.claude/.credentials.json')
    .describe('Claude OAuth credentials file (read on the host only)'),
  egressAllowlist: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const problem = parseAllowlistEntry(entry);
        if (typeof problem === 'string') ctx.addIssue({ code: 'custom', message: problem });
      }),
    )
    .default([])
    .describe(
      'With network "proxy": the hosts the container may reach through the host-side proxy, each "host", ' +
        '"*.host" (subdomains only), an IP address or "[IPv6]", optionally ":port" (default: any port). ' +
        'Empty (default): nothing. A name resolving to a loopback, link-local or private address is refused ' +
        'unless that address is listed itself.',
    ),
  refuseServerTools: z
    .boolean()
    .default(false)
    .describe(
      'Refuse model API requests that enable server-side tools (web search/fetch, code execution, MCP ' +
        "connector): they reach the internet from Anthropic's side whatever the network mode",
    ),
  oauthTokenUrl: z
    .string()
    .url()
    .default(DEFAULT_OAUTH_TOKEN_URL)
    .describe("OAuth token endpoint the host-side proxy refreshes the Claude login at (Claude Code's own)"),
  oauthRefreshMarginSeconds: z
    .number()
    .int()
    .nonnegative()
    .default(DEFAULT_REFRESH_MARGIN_SECONDS)
    .describe('Refresh the OAuth token this many seconds before it expires'),
  openclawConfigPath: z
    .string()
    .default('~/.openclaw/openclaw.json')
    .describe('Where hooks.token is read from when hooksToken is empty'),
  ociRuntime: z
    .string()
    .default('auto')
    .describe('OCI runtime passed to podman (--runtime); "auto" probes which one works on this host'),
  cancelGraceSeconds: z
    .number()
    .nonnegative()
    .default(5)
    .describe('Seconds between SIGINT to Claude Code and killing the container on cancel'),
  requireLimits: z
    .boolean()
    .default(false)
    .describe(
      'Refuse to start a job (LIMITS_NOT_ENFORCED) where the runtime would not enforce the memory, CPU and ' +
        'PID limits, e.g. rootless podman on cgroups v1',
    ),
  metricsIntervalSeconds: z
    .number()
    .positive()
    .default(3)
    .describe('How often container metrics are sampled'),
  engines: z
    .array(engineConfigSchema)
    .min(1)
    .max(64)
    .optional()
    .superRefine((engines, ctx) => {
      const seen = new Set<string>();
      for (const e of engines ?? []) {
        if (seen.has(e.name))
          ctx.addIssue({ code: 'custom', message: `engine name "${e.name}" is used twice` });
        seen.add(e.name);
      }
    })
    .describe(
      'Engines to run jobs on (remote podman or Docker hosts, a Kubernetes namespace), each with its own ' +
        'maxConcurrentJobs; a job goes to the one with the fewest jobs. Absent: the local `runtime`.',
    ),
  engineUnreachableSeconds: z
    .number()
    .positive()
    .default(120)
    .describe(
      'How long every probe of an engine must fail before its jobs fail with ENGINE_UNREACHABLE ' +
        '(one failed call never ends a job)',
    ),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

/** Config with every path made absolute. */
export type ResolvedConfig = Config & { readonly resolved: true };

export function parseConfig(input: unknown = {}): ResolvedConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown config key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      const key = issue.path.join('.') || '(config)';
      return `"${key}": ${issue.message}`;
    });
    throw new ClaudePodError(ErrorCodes.INVALID_CONFIG, `Invalid claude-pod config: ${problems.join('; ')}`, {
      details: { issues: problems },
    });
  }
  const config = result.data;
  return {
    ...config,
    sessionsDir: expandHome(config.sessionsDir),
    workspacesDir: expandHome(config.workspacesDir),
    credentialsPath: expandHome(config.credentialsPath),
    openclawConfigPath: expandHome(config.openclawConfigPath),
    resolved: true,
  };
}

/** Threads the worker pool may start when `workerThreads` is not set: see the key's description. */
export function defaultWorkerThreads(maxConcurrentJobs: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(maxConcurrentJobs, Math.max(2, Math.min(4, cores))));
}

/** The number of worker threads a config asks for (never more than there can be running jobs). */
export function workerThreadsFor(config: Pick<Config, 'maxConcurrentJobs' | 'workerThreads'>): number {
  return config.workerThreads === undefined
    ? defaultWorkerThreads(config.maxConcurrentJobs)
    : Math.min(config.workerThreads, config.maxConcurrentJobs);
}

/** The JSON Schema of the config, for openclaw.plugin.json (one source of truth). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input' }) as Record<string, unknown>;
}
