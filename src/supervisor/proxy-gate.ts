import { join } from 'node:path';
import { ensureApiProxy, type ApiProxyHandle, type SocketOwner } from '../proxy/client.js';
import type { JobLimitsInput } from '../proxy/limits.js';
import type { ProxyOptionsInput } from '../proxy/proxy-options.js';
import type { ProxyCredential } from '../proxy/settings.js';
import type { Logger } from '../shared/logger.js';
import type { ApiAccess, ApiGate } from './api-gate.js';
import { requireCredential } from './auth.js';

/**
 * The production ApiGate: the host-side proxy daemon (src/proxy), started on first use. Each job
 * gets its own socket directory (mounted only into its container) and a token valid only there.
 * The credential is read when a job needs it, so a supervisor without one still answers status
 * and sessions, and start() fails with the seed's NO_AUTH message.
 */
export class ProxyGate implements ApiGate {
  private handle: Promise<ApiProxyHandle> | null = null;
  private kind: 'api-key' | 'oauth' = 'api-key';

  constructor(
    private readonly opts: {
      sessionsDir: string;
      upstream: string;
      credentialsPath: string;
      env?: NodeJS.ProcessEnv;
      logger?: Logger;
      /**
       * The host uid/gid of the container's user, which alone (besides us) may reach a job's
       * socket: rootful podman maps the container's uid 1000 to the host's uid 1000. Absent: the
       * user running the supervisor (rootless podman maps the container user to it).
       */
      socketOwner?: SocketOwner | null;
      limits?: JobLimitsInput;
      /** OAuth refresh, egress allowlist, server-side tools. */
      proxyOptions?: ProxyOptionsInput;
    },
  ) {}

  private proxy(): Promise<ApiProxyHandle> {
    this.handle ??= (async () => {
      const { credential, source } = await requireCredential({
        credentialsPath: this.opts.credentialsPath,
        ...(this.opts.env ? { env: this.opts.env } : {}),
      });
      this.kind = credential.kind;
      // A Claude login from the credentials file: the daemon reads the file itself and keeps it
      // fresh (refreshing on the host), so the fingerprint names the file, not a token that changes.
      const proxyCredential: ProxyCredential =
        source === 'oauth-credentials-file'
          ? { kind: 'oauth-file', value: this.opts.credentialsPath }
          : credential;
      return ensureApiProxy({
        stateDir: join(this.opts.sessionsDir, '.proxy'),
        upstream: this.opts.upstream,
        credential: proxyCredential,
        ...(this.opts.proxyOptions ? { proxyOptions: this.opts.proxyOptions } : {}),
        ...(this.opts.socketOwner ? { socketOwner: this.opts.socketOwner } : {}),
        ...(this.opts.limits ? { limits: this.opts.limits } : {}),
        ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      });
    })().catch((error: unknown) => {
      this.handle = null;
      throw error;
    });
    return this.handle;
  }

  async grant(jobId: string): Promise<ApiAccess> {
    const grant = await (await this.proxy()).grant(jobId);
    return {
      socketDir: grant.socketDir,
      token: grant.token,
      kind: this.kind,
      activityFile: grant.activityFile,
    };
  }

  async reattach(jobId: string): Promise<(Pick<ApiAccess, 'activityFile'> & { socketDir?: string }) | void> {
    // The daemon normally outlived us; if it exited, a new one re-creates the job's socket in the
    // directory the container already mounts (tokens persist on disk).
    const access = await (await this.proxy()).reattach(jobId);
    return access ? { activityFile: access.activityFile, socketDir: access.socketDir } : undefined;
  }

  async revoke(jobId: string): Promise<void> {
    // Also after a restart (no handle yet): a token left granted would keep the daemon alive.
    await (await this.proxy()).revoke(jobId);
  }

  async close(opts: { jobsStillRunning: boolean }): Promise<void> {
    // Running containers keep using the daemon across our restart; it exits by itself when idle.
    if (!this.handle || opts.jobsStillRunning) return;
    await (await this.handle).stop();
  }
}
