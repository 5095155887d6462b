import { describe, expect, it, vi } from 'vitest';
import { gatewayHookUrl, resolvePluginConfig } from '../../../src/plugin/plugin-config.js';
import { gatewayLogger } from '../../../src/plugin/plugin-logger.js';

describe('resolvePluginConfig', () => {
  it('falls back to the gateway hooks token only when its hooks are enabled', () => {
    const on = { hooks: { enabled: true, token: 't' } };
    expect(resolvePluginConfig({}, on).hooksToken).toBe('t');
    expect(resolvePluginConfig({ hooksToken: '' }, on).hooksToken).toBe('t');
    expect(resolvePluginConfig({}, { hooks: { enabled: false, token: 't' } }).hooksToken).toBe('');
    expect(resolvePluginConfig({ hooksToken: 'mine' }, on).hooksToken).toBe('mine');
  });

  it('builds the webhook URL from the gateway port and hooks.path', () => {
    expect(gatewayHookUrl({})).toBe('http://127.0.0.1:18789/hooks/agent');
    expect(gatewayHookUrl({ gateway: { port: 1234 }, hooks: { path: 'in/' } })).toBe(
      'http://127.0.0.1:1234/in/agent',
    );
    // OpenClaw applies schema defaults: the default URL is treated as unset.
    const filled = { notifyWebhookUrl: 'http://localhost:18789/hooks/agent', hooksToken: '' };
    expect(resolvePluginConfig(filled, { gateway: { port: 5 } }).notifyWebhookUrl).toBe(
      'http://127.0.0.1:5/hooks/agent',
    );
    expect(resolvePluginConfig({ notifyWebhookUrl: 'http://x/hooks/agent' }, {}).notifyWebhookUrl).toBe(
      'http://x/hooks/agent',
    );
  });

  it('rejects unknown keys with the key named', () => {
    expect(() => resolvePluginConfig({ imagee: 'x' }, {})).toThrow(/unknown config key "imagee"/);
  });
});

describe('gatewayLogger', () => {
  it('forwards pino records to the plugin logger by level and redacts tokens', () => {
    const target = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
    const log = gatewayLogger(target, 'debug');
    log.warn({ jobId: 'job-1', token: 'secret' }, 'notification rejected');
    log.debug('quiet');
    log.error('bad');
    expect(target.warn).toHaveBeenCalledWith('notification rejected {"jobId":"job-1","token":"[redacted]"}');
    expect(target.debug).toHaveBeenCalledWith('quiet');
    expect(target.error).toHaveBeenCalledWith('bad');
  });
});
