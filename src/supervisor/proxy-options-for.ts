import type { ProxyOptionsInput } from '../proxy/proxy-options.js';
import { DEFAULT_OAUTH_CLIENT_ID } from '../shared/oauth-endpoint.js';
import type { ResolvedConfig } from '../shared/config.js';

/** The proxy daemon's options from the config: egress only in the `proxy` network mode. */
export function proxyOptionsFor(
  config: Pick<
    ResolvedConfig,
    'network' | 'egressAllowlist' | 'refuseServerTools' | 'oauthTokenUrl' | 'oauthRefreshMarginSeconds'
  >,
): ProxyOptionsInput {
  return {
    oauth: {
      tokenUrl: config.oauthTokenUrl,
      clientId: DEFAULT_OAUTH_CLIENT_ID,
      refreshMarginMs: config.oauthRefreshMarginSeconds * 1000,
    },
    egress: config.network === 'proxy' ? { allowlist: [...config.egressAllowlist] } : null,
    refuseServerTools: config.refuseServerTools,
  };
}
