import { z } from 'zod';

import {
  DEFAULT_OAUTH_CLIENT_ID,
  DEFAULT_OAUTH_TOKEN_URL,
  DEFAULT_REFRESH_MARGIN_SECONDS,
} from '../shared/oauth-endpoint.js';

export const DEFAULT_REFRESH_MARGIN_MS = DEFAULT_REFRESH_MARGIN_SECONDS * 1000;

export const oauthOptionsSchema = z.strictObject({
  tokenUrl: z.string().url().default(DEFAULT_OAUTH_TOKEN_URL),
  clientId: z.string().min(1).default(DEFAULT_OAUTH_CLIENT_ID),
  refreshMarginMs: z.number().int().nonnegative().default(DEFAULT_REFRESH_MARGIN_MS),
});

export const egressOptionsSchema = z.strictObject({
  /** Entries `host`, `*.host`, `1.2.3.4`, `[::1]`, each optionally `:port` (egress/allowlist.ts). */
  allowlist: z.array(z.string()).default([]),
});

/**
 * What the daemon does besides forwarding model-API requests, handed over as one JSON value
 * (`CLAUDE_POD_PROXY_OPTIONS`) and part of the configuration fingerprint.
 */
export const proxyOptionsSchema = z.strictObject({
  oauth: oauthOptionsSchema.default(() => oauthOptionsSchema.parse({})),
  /** null: egress is off (network modes other than `proxy`): CONNECT and absolute URLs get 403. */
  egress: egressOptionsSchema.nullable().default(null),
  /** Refuse `/v1/messages` requests that enable server-side tools (web fetch/search, MCP connector). */
  refuseServerTools: z.boolean().default(false),
});

export type ProxyOptions = z.output<typeof proxyOptionsSchema>;
export type ProxyOptionsInput = z.input<typeof proxyOptionsSchema>;

export const resolveProxyOptions = (input: ProxyOptionsInput | undefined): ProxyOptions =>
  proxyOptionsSchema.parse(input ?? {});
