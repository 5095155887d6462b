import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import type { Logger } from 'pino';
import { AuthExpiredError, staticCredential, type CredentialSource } from '../credential-source.js';
import type { ProxyOptions } from '../proxy-options.js';
import type { DaemonSettings } from '../settings.js';
import {
  credentialsVersion,
  readCredentials,
  writeRefreshedLogin,
  type CredentialsSnapshot,
} from './login-file.js';
import { refreshLogin, TokenRefreshError } from './token-endpoint.js';

/** The file is looked at (one stat) at most this often on the request path. */
const STAT_EVERY_MS = 1000;
/** After a failed refresh with the file unchanged, further requests fail at once for this long. */
const FAILURE_MEMORY_MS = 30_000;

export interface OAuthCredentialOptions {
  path: string;
  oauth: ProxyOptions['oauth'];
  logger: Logger;
  now?: () => number;
  /** Lock acquisition: tries and pause (Claude Code holds its lock for one refresh, seconds at most). */
  lockRetries?: number;
}

/**
 * The host's Claude login, kept fresh for every job at once:
 * - the file is re-read when it changes (someone logged in again, or the host's own Claude Code
 *   refreshed it), checked at most once a second on the request path;
 * - within `refreshMarginMs` of `expiresAt`, or after upstream refused the token, it is refreshed
 *   at the token endpoint — one refresh in flight per process (single flight), and across
 *   processes under the same locks Claude Code takes (proper-lockfile on `<dir>` with
 *   `<dir>/.oauth_refresh.lock`, then the legacy `<dir>.lock`), re-reading the file inside the
 *   lock so a refresh someone else just made is used, not repeated;
 * - the file is rewritten atomically, its mode and every field we do not own kept.
 * Nothing of a token is ever logged or put in an error.
 */
export class OAuthCredential implements CredentialSource {
  readonly kind = 'oauth' as const;
  readonly renewable = true;
  private snapshot: CredentialsSnapshot | null = null;
  private checkedAt = 0;
  private loading: Promise<CredentialsSnapshot> | null = null;
  private refreshing: Promise<string> | null = null;
  private failure: { version: string; at: number; error: AuthExpiredError } | null = null;
  private readonly now: () => number;

  constructor(private readonly options: OAuthCredentialOptions) {
    this.now = options.now ?? Date.now;
  }

  async current(): Promise<string> {
    const snap = await this.load();
    if (!this.expiresSoon(snap)) return snap.login.accessToken;
    return this.refresh(snap.login.accessToken);
  }

  async renew(rejected: string): Promise<string> {
    const snap = await this.load(true);
    if (snap.login.accessToken !== rejected) return snap.login.accessToken;
    return this.refresh(rejected);
  }

  private expiresSoon(snap: CredentialsSnapshot): boolean {
    const expiresAt = snap.login.expiresAt;
    return typeof expiresAt === 'number' && this.now() + this.options.oauth.refreshMarginMs >= expiresAt;
  }

  /** The file as last read, re-read when its version changed (checked at most once a second unless forced). */
  private async load(force = false): Promise<CredentialsSnapshot> {
    if (this.snapshot && !force && this.now() - this.checkedAt < STAT_EVERY_MS) return this.snapshot;
    this.loading ??= (async () => {
      try {
        const version = await credentialsVersion(this.options.path);
        this.checkedAt = this.now();
        if (this.snapshot && version === this.snapshot.version) return this.snapshot;
        const snap = await readCredentials(this.options.path);
        if (this.snapshot)
          this.options.logger.info({ path: this.options.path }, 'oauth credentials file changed; re-read');
        this.snapshot = snap;
        return snap;
      } catch (error) {
        if (this.snapshot) return this.snapshot;
        throw new AuthExpiredError((error as Error).message);
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /** One refresh at a time in this process; every caller waiting gets its outcome. */
  private refresh(stale: string): Promise<string> {
    const failure = this.failure;
    if (failure && failure.version === this.snapshot?.version && this.now() - failure.at < FAILURE_MEMORY_MS)
      return Promise.reject(failure.error);
    this.refreshing ??= this.refreshLocked(stale).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshLocked(stale: string): Promise<string> {
    const { path, logger } = this.options;
    const release = await this.lock();
    try {
      // Someone (the host's Claude Code, another proxy) may have refreshed while we waited.
      const snap = await this.load(true);
      if (snap.login.accessToken !== stale && !this.expiresSoon(snap)) {
        logger.info({ path }, 'oauth token already refreshed by another process');
        return snap.login.accessToken;
      }
      const refreshToken = snap.login.refreshToken;
      if (!refreshToken) throw new AuthExpiredError(`${path} holds no refresh token`);
      const started = this.now();
      try {
        const refreshed = await refreshLogin({
          tokenUrl: this.options.oauth.tokenUrl,
          clientId: this.options.oauth.clientId,
          refreshToken,
          scopes: snap.login.scopes ?? null,
          now: this.now,
        });
        await writeRefreshedLogin(path, refreshed);
        this.snapshot = null;
        const after = await this.load(true);
        this.failure = null;
        logger.info(
          { path, ms: this.now() - started, expiresAt: new Date(refreshed.expiresAt).toISOString() },
          'oauth token refreshed',
        );
        return after.login.accessToken;
      } catch (error) {
        const status = error instanceof TokenRefreshError ? error.status : null;
        logger.error(
          { path, status, reason: (error as Error).message, tokenUrl: this.options.oauth.tokenUrl },
          'oauth token refresh failed',
        );
        const expired = new AuthExpiredError(
          error instanceof TokenRefreshError ? error.message : `refresh failed: ${(error as Error).message}`,
        );
        this.failure = { version: snap.version, at: this.now(), error: expired };
        throw expired;
      }
    } finally {
      await release();
    }
  }

  /** Claude Code's two locks, in its order; released in reverse. */
  private async lock(): Promise<() => Promise<void>> {
    const dir = dirname(this.options.path);
    await mkdir(dir, { recursive: true });
    const retries = {
      retries: this.options.lockRetries ?? 60,
      minTimeout: 100,
      maxTimeout: 1000,
      factor: 1.5,
    };
    const common = {
      realpath: false,
      stale: 60_000,
      update: 5000,
      retries,
      onCompromised: (err: Error) =>
        this.options.logger.warn({ reason: err.message }, 'oauth refresh lock compromised'),
    };
    let first: (() => Promise<void>) | null = null;
    try {
      first = await lockfile.lock(dir, { ...common, lockfilePath: `${dir}/.oauth_refresh.lock` });
      const legacy = `${dir.replace(/\/+$/, '')}.lock`;
      const second = await lockfile.lock(legacy, { ...common, lockfilePath: legacy });
      const held = first;
      return async () => {
        await second().catch(() => undefined);
        await held().catch(() => undefined);
      };
    } catch (error) {
      await first?.().catch(() => undefined);
      throw new AuthExpiredError(`could not take the credentials lock: ${(error as Error).message}`);
    }
  }
}

/** The daemon's credential: a credentials file it keeps fresh, or a fixed key or token. */
export function credentialSource(settings: DaemonSettings, logger: Logger): CredentialSource {
  const { kind, value } = settings.credential;
  if (kind !== 'oauth-file') return staticCredential(kind, value);
  return new OAuthCredential({ path: value, oauth: settings.options.oauth, logger });
}
