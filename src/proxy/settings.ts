import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * What the client hands the daemon. Everything travels in the daemon's environment: the secret
 * must never appear in argv (visible to every user through /proc/<pid>/cmdline).
 */
export const ENV = {
  stateDir: 'CLAUDE_POD_PROXY_STATE_DIR',
  socketPath: 'CLAUDE_POD_PROXY_SOCKET',
  upstream: 'CLAUDE_POD_PROXY_UPSTREAM',
  credentialKind: 'CLAUDE_POD_PROXY_CREDENTIAL_KIND',
  credential: 'CLAUDE_POD_PROXY_CREDENTIAL',
  idleExitMs: 'CLAUDE_POD_PROXY_IDLE_EXIT_MS',
  drainMs: 'CLAUDE_POD_PROXY_DRAIN_MS',
  orphanExitMs: 'CLAUDE_POD_PROXY_ORPHAN_EXIT_MS',
  logLevel: 'CLAUDE_POD_LOG_LEVEL',
} as const;

/** The daemon reports `{"ready":true,"pid":N}` or `{"error":…}` as one JSON line on this fd, then closes it. */
export const READY_FD_ENV = 'CLAUDE_POD_PROXY_READY_FD';
/** Daemon exit code: another live proxy already serves this socket. */
export const EXIT_PEER_RUNNING = 3;

export type CredentialKind = 'api-key' | 'oauth';

export interface ProxyCredential {
  kind: CredentialKind;
  value: string;
}

export const daemonSettingsSchema = z.object({
  stateDir: z.string().min(1),
  socketPath: z.string().min(1),
  upstream: z.string().url(),
  credential: z.object({ kind: z.enum(['api-key', 'oauth']), value: z.string().min(1) }),
  idleExitMs: z.coerce.number().int().positive().default(60_000),
  drainMs: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  orphanExitMs: z.coerce
    .number()
    .int()
    .positive()
    .default(6 * 3_600_000),
  logLevel: z.string().default('info'),
});
export type DaemonSettings = z.infer<typeof daemonSettingsSchema>;

export function readDaemonSettings(env: NodeJS.ProcessEnv): DaemonSettings {
  return daemonSettingsSchema.parse({
    stateDir: env[ENV.stateDir],
    socketPath: env[ENV.socketPath],
    upstream: env[ENV.upstream],
    credential: { kind: env[ENV.credentialKind], value: env[ENV.credential] },
    idleExitMs: env[ENV.idleExitMs] || undefined,
    drainMs: env[ENV.drainMs] || undefined,
    orphanExitMs: env[ENV.orphanExitMs] || undefined,
    logLevel: env[ENV.logLevel] || undefined,
  });
}

/** Identifies a configuration without revealing it: a running proxy is reused only on a match. */
export function configFingerprint(upstream: string, credential: ProxyCredential): string {
  return createHash('sha256')
    .update(`claude-pod-proxy/v1\0${normalizeUpstream(upstream)}\0${credential.kind}\0${credential.value}`)
    .digest('hex');
}

export function normalizeUpstream(upstream: string): string {
  const url = new URL(upstream);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`upstream must be an http(s) URL, got ${url.protocol}`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}
