import { createHash } from 'node:crypto';
import { z } from 'zod';
import { jobLimitsSchema, resolveJobLimits, type JobLimits } from './limits.js';
import { proxyOptionsSchema, resolveProxyOptions, type ProxyOptions } from './proxy-options.js';

/**
 * What the client hands the daemon. Everything travels in the daemon's environment: the secret
 * must never appear in argv (visible to every user through /proc/<pid>/cmdline).
 */
export const ENV = {
  stateDir: 'CLAUDE_POD_PROXY_STATE_DIR',
  upstream: 'CLAUDE_POD_PROXY_UPSTREAM',
  credentialKind: 'CLAUDE_POD_PROXY_CREDENTIAL_KIND',
  credential: 'CLAUDE_POD_PROXY_CREDENTIAL',
  idleExitMs: 'CLAUDE_POD_PROXY_IDLE_EXIT_MS',
  drainMs: 'CLAUDE_POD_PROXY_DRAIN_MS',
  orphanExitMs: 'CLAUDE_POD_PROXY_ORPHAN_EXIT_MS',
  /** JSON of per-job limits (limits.ts); absent: the defaults. */
  limits: 'CLAUDE_POD_PROXY_LIMITS',
  /** JSON of the daemon's options (proxy-options.ts): OAuth refresh, egress, server tools. */
  options: 'CLAUDE_POD_PROXY_OPTIONS',
  /** `1`: take the sockets over even though a daemon with the same configuration is running. */
  takeover: 'CLAUDE_POD_PROXY_TAKEOVER',
  logLevel: 'CLAUDE_POD_LOG_LEVEL',
} as const;

/** The daemon reports `{"ready":true,"pid":N}` or `{"error":…}` as one JSON line on this fd, then closes it. */
export const READY_FD_ENV = 'CLAUDE_POD_PROXY_READY_FD';
/** Daemon exit code: another live proxy with the same configuration already serves. */
export const EXIT_PEER_RUNNING = 3;
/** Bumped whenever daemon and client stop understanding each other's files and sockets. */
export const PROXY_PROTOCOL = 2;

/** What the container's Claude Code is told it holds (its capability token goes in that variable). */
export type CredentialKind = 'api-key' | 'oauth';

export interface ProxyCredential {
  /** `oauth-file`: `value` is the path of Claude Code's credentials file, read and refreshed by the daemon. */
  kind: CredentialKind | 'oauth-file';
  value: string;
}

const envNumber = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const daemonSettingsSchema = z.object({
  stateDir: z.string().min(1),
  upstream: z.string().url(),
  credential: z.object({ kind: z.enum(['api-key', 'oauth', 'oauth-file']), value: z.string().min(1) }),
  idleExitMs: envNumber(60_000),
  drainMs: envNumber(15 * 60_000),
  orphanExitMs: envNumber(6 * 3_600_000),
  limits: jobLimitsSchema.partial().default({}),
  options: proxyOptionsSchema.default(() => resolveProxyOptions(undefined)),
  takeover: z.boolean().default(false),
  logLevel: z.string().default('info'),
});
export type DaemonSettings = Omit<z.infer<typeof daemonSettingsSchema>, 'limits'> & { limits: JobLimits };

export function readDaemonSettings(env: NodeJS.ProcessEnv): DaemonSettings {
  const raw = env[ENV.limits];
  const rawOptions = env[ENV.options];
  const parsed = daemonSettingsSchema.parse({
    stateDir: env[ENV.stateDir],
    upstream: env[ENV.upstream],
    credential: { kind: env[ENV.credentialKind], value: env[ENV.credential] },
    idleExitMs: env[ENV.idleExitMs] || undefined,
    drainMs: env[ENV.drainMs] || undefined,
    orphanExitMs: env[ENV.orphanExitMs] || undefined,
    limits: raw ? (JSON.parse(raw) as unknown) : undefined,
    options: rawOptions ? (JSON.parse(rawOptions) as unknown) : undefined,
    takeover: env[ENV.takeover] === '1',
    logLevel: env[ENV.logLevel] || undefined,
  });
  return { ...parsed, limits: resolveJobLimits(parsed.limits) };
}

/**
 * Identifies a configuration without revealing it: a running proxy is reused only on a match.
 * The limits are part of it (a supervisor configured with others gets a daemon that has them).
 */
export function configFingerprint(
  upstream: string,
  credential: ProxyCredential,
  limits: JobLimits = resolveJobLimits(undefined),
  options: ProxyOptions = resolveProxyOptions(undefined),
): string {
  return createHash('sha256')
    .update(`claude-pod-proxy/v${PROXY_PROTOCOL}\0${normalizeUpstream(upstream)}\0`)
    .update(`${credential.kind}\0${credential.value}\0${JSON.stringify(limits)}`)
    .update(`\0${JSON.stringify(options)}`)
    .digest('hex');
}

export function normalizeUpstream(upstream: string): string {
  const url = new URL(upstream);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`upstream must be an http(s) URL, got ${url.protocol}`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}
