import { parseConfig, type ResolvedConfig } from '../shared/config.js';
import type { GatewayConfigView } from './sdk-types.js';

/** OpenClaw's defaults for the two settings the webhook URL is built from. */
const DEFAULT_GATEWAY_PORT = 18789;
const DEFAULT_HOOKS_PATH = '/hooks';
/** The seed's default URL. OpenClaw fills schema defaults into the plugin config, so this value
 * means "not configured" as much as a missing key does. */
const SEED_DEFAULT_WEBHOOK_URL = 'http://localhost:18789/hooks/agent';

/**
 * The library config for the plugin: `plugins.entries["claude-code"].config` exactly as the seed
 * took it, plus what only the gateway knows. With no `hooksToken` the gateway's own
 * `hooks.token` is used (when its hooks are enabled), and with no `notifyWebhookUrl` the URL is
 * built from the gateway's port and `hooks.path` — so notifications work with zero plugin config
 * (the seed's default URL counts as unset: OpenClaw fills in schema defaults before we see them).
 */
export function resolvePluginConfig(
  pluginConfig: Record<string, unknown> | undefined,
  gateway: GatewayConfigView | undefined,
): ResolvedConfig {
  const input: Record<string, unknown> = { ...(pluginConfig ?? {}) };
  const hooks = gateway?.hooks;
  const hooksOn = hooks?.enabled === true && typeof hooks.token === 'string' && hooks.token.length > 0;
  if ((input.hooksToken === undefined || input.hooksToken === '') && hooksOn) input.hooksToken = hooks.token;
  const url = input.notifyWebhookUrl;
  if ((url === undefined || url === SEED_DEFAULT_WEBHOOK_URL) && gateway)
    input.notifyWebhookUrl = gatewayHookUrl(gateway);
  return parseConfig(input);
}

export function gatewayHookUrl(gateway: GatewayConfigView): string {
  const port = typeof gateway.gateway?.port === 'number' ? gateway.gateway.port : DEFAULT_GATEWAY_PORT;
  const raw =
    typeof gateway.hooks?.path === 'string' && gateway.hooks.path ? gateway.hooks.path : DEFAULT_HOOKS_PATH;
  const path = `/${raw.replace(/^\/+|\/+$/g, '')}`;
  // 127.0.0.1, not localhost: the gateway binds IPv4 loopback and `localhost` may resolve to ::1 first.
  return `http://127.0.0.1:${port}${path}/agent`;
}
