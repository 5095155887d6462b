import { AUTH_EXPIRED_MARKER, LOGIN_AGAIN_HINT } from '../shared/auth-expired.js';
import type { CredentialKind } from './settings.js';

/**
 * Where the proxy gets the credential it puts on each upstream request. A static one (an API
 * key, an OAuth token handed over as is) never changes; an OAuth credentials file is re-read
 * when it changes and refreshed on the host (oauth/oauth-credential.ts).
 */
export interface CredentialSource {
  readonly kind: CredentialKind;
  /** Whether `renew` can ever give something new (a 401 is worth one retry). */
  readonly renewable: boolean;
  /** The credential to send now (refreshed first when it is about to expire). */
  current(): Promise<string>;
  /**
   * Upstream refused `rejected` (401): a newer credential, refreshed if needed. Rejects with an
   * AuthExpiredError when none can be had.
   */
  renew(rejected: string): Promise<string>;
}

export { AUTH_EXPIRED_MARKER, LOGIN_AGAIN_HINT };

export class AuthExpiredError extends Error {
  constructor(readonly reason: string) {
    super(
      `${AUTH_EXPIRED_MARKER} the host's Claude login has expired and could not be refreshed (${reason}); ${LOGIN_AGAIN_HINT}`,
    );
    this.name = 'AuthExpiredError';
  }
}

export function staticCredential(kind: 'api-key' | 'oauth', value: string): CredentialSource {
  return {
    kind,
    renewable: false,
    current: () => Promise.resolve(value),
    renew: () => Promise.reject(new AuthExpiredError('upstream refused the credential')),
  };
}
