import { join } from 'node:path';
import { ensureApiProxy, type ApiProxyHandle } from '../proxy/client.js';
import type { Logger } from '../shared/logger.js';
import type { ApiAccess, ApiGate } from './api-gate.js';
import { requireCredential } from './auth.js';

/**
 * The production ApiGate: the host-side proxy daemon (src/proxy), started on first use. The
 * credential is read when a job needs it, so a supervisor without one still answers status and
 * sessions, and start() fails with the seed's NO_AUTH message.
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
    },
  ) {}

  private proxy(): Promise<ApiProxyHandle> {
    this.handle ??= (async () => {
      const { credential } = await requireCredential({
        credentialsPath: this.opts.credentialsPath,
        ...(this.opts.env ? { env: this.opts.env } : {}),
      });
      this.kind = credential.kind;
      return ensureApiProxy({
        stateDir: join(this.opts.sessionsDir, '.proxy'),
        upstream: this.opts.upstream,
        credential,
        ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      });
    })().catch((error: unknown) => {
      this.handle = null;
      throw error;
    });
    return this.handle;
  }

  async grant(jobId: string): Promise<ApiAccess> {
    const proxy = await this.proxy();
    const token = await proxy.grant(jobId);
    return { socketDir: proxy.socketDir, token, kind: this.kind };
  }

  async reattach(_jobId: string): Promise<{ socketDir: string }> {
    // The daemon normally outlived us; if it exited, start it again (tokens persist on disk).
    const proxy = await this.proxy();
    await proxy.ensureRunning();
    return { socketDir: proxy.socketDir };
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
