import { describe, expect, it, vi } from 'vitest';
import type { ResolvedConfig } from '../../../src/shared/config.js';
import { registerClaudeCode, SERVICE_ID } from '../../../src/plugin/register.js';
import type { PreflightFacts } from '../../../src/plugin/preflight.js';
import type { PluginApi, PluginRegistrationMode, PluginService } from '../../../src/plugin/sdk-types.js';
import { SupervisorHost, type HostedSupervisor } from '../../../src/plugin/supervisor-host.js';
import type { AgentToolLike } from '../../../src/tools/define.js';
import { FakeSupervisor, jobStatus } from '../tools/fake-supervisor.js';

const logger = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() });

function fakeApi(mode: PluginRegistrationMode, pluginConfig: Record<string, unknown> = {}) {
  const tools: AgentToolLike[] = [];
  const services: PluginService[] = [];
  const api: PluginApi = {
    id: 'claude-code',
    registrationMode: mode,
    config: { gateway: { port: 28790 }, hooks: { enabled: true, token: 'gateway-hooks-token' } },
    pluginConfig,
    logger: logger(),
    registerTool: (tool) => tools.push(tool),
    registerService: (service) => services.push(service),
  };
  return { api, tools, services };
}

class HostedFake extends FakeSupervisor implements HostedSupervisor {
  closed: Array<{ cancelRunning?: boolean } | undefined> = [];
  async close(opts?: { cancelRunning?: boolean }) {
    this.closed.push(opts);
  }
}

const noProblems = async () => ({ imageExists: true, hasCredential: true });

function harness(
  mode: PluginRegistrationMode = 'full',
  pluginConfig: Record<string, unknown> = {},
  preflight: (config: ResolvedConfig) => Promise<PreflightFacts> = noProblems,
) {
  const supervisor = new HostedFake();
  // Like the real one, the fake notifies when a hooks token is configured, at the configured URL.
  const create = vi.fn(async (config: ResolvedConfig) => {
    supervisor.notificationsEnabled = config.hooksToken !== '';
    supervisor.notificationUrl = config.notifyWebhookUrl;
    return supervisor;
  });
  const host = new SupervisorHost(200);
  const reg = fakeApi(mode, pluginConfig);
  registerClaudeCode(reg.api, { createSupervisor: create, host, preflight });
  const ctx = { config: reg.api.config, stateDir: '/state', logger: logger() };
  return { ...reg, supervisor, create, host, ctx };
}

describe('registerClaudeCode', () => {
  it.each(['discovery', 'tool-discovery', 'cli-metadata', 'full'] as const)(
    'in %s mode declares six tools and one service and starts nothing',
    (mode) => {
      const { tools, services, create } = harness(mode);
      expect(tools.map((t) => t.name)).toHaveLength(6);
      expect(services.map((s) => s.id)).toEqual([SERVICE_ID]);
      expect(create).not.toHaveBeenCalled();
    },
  );

  it('the service creates the supervisor with the gateway hooks token and URL, and tools reach it', async () => {
    const { tools, services, create, supervisor, ctx, host } = harness('full', { network: 'none' });
    supervisor.jobs.set('job-1', jobStatus());
    await services[0]!.start(ctx);
    await host.get();
    const config = create.mock.calls[0]![0];
    expect(config).toMatchObject({
      network: 'none',
      hooksToken: 'gateway-hooks-token',
      notifyWebhookUrl: 'http://127.0.0.1:28790/hooks/agent',
    });
    const status = tools.find((t) => t.name === 'claude_code_status')!;
    await expect(status.execute('c', { job_id: 'job-1' })).resolves.toMatchObject({ details: { ok: true } });
    expect(ctx.logger.info).toHaveBeenCalledWith(
      expect.stringContaining('notifications to http://127.0.0.1:28790'),
    );
  });

  it('an explicit hooksToken and notifyWebhookUrl win over the gateway config', async () => {
    const { services, create, ctx, host } = harness('full', {
      hooksToken: 'mine',
      notifyWebhookUrl: 'http://127.0.0.1:1/hooks/agent',
    });
    await services[0]!.start(ctx);
    await host.get();
    expect(create.mock.calls[0]![0]).toMatchObject({
      hooksToken: 'mine',
      notifyWebhookUrl: 'http://127.0.0.1:1/hooks/agent',
    });
  });

  it('stop closes the supervisor without cancelling running jobs', async () => {
    const { services, supervisor, ctx, host } = harness();
    await services[0]!.start(ctx);
    await host.get();
    await services[0]!.stop!(ctx);
    expect(supervisor.closed).toEqual([{ cancelRunning: false }]);
  });

  it('a tool called before the service started waits for it', async () => {
    const { tools, services, supervisor, ctx } = harness();
    supervisor.jobs.set('job-1', jobStatus());
    const pending = tools.find((t) => t.name === 'claude_code_status')!.execute('c', { job_id: 'job-1' });
    await services[0]!.start(ctx);
    await expect(pending).resolves.toMatchObject({ details: { ok: true, status: 'running' } });
  });

  it('without a started service, or after a failed start, tools answer with an error, not a throw', async () => {
    const { tools, services, create, ctx } = harness();
    const status = tools.find((t) => t.name === 'claude_code_status')!;
    await expect(status.execute('c', { job_id: 'job-1' })).resolves.toMatchObject({
      details: { ok: false, error: { code: 'SUPERVISOR_CLOSED' } },
    });
    create.mockRejectedValueOnce(Object.assign(new Error('podman: not found')));
    await services[0]!.start(ctx);
    await vi.waitFor(() => expect(ctx.logger.error).toHaveBeenCalled());
    const result = await status.execute('c', { job_id: 'job-1' });
    expect(result.details).toMatchObject({ ok: false, error: { code: 'SUPERVISOR_CLOSED' } });
    expect(result.content[0]!.text).toContain('podman: not found');
  });

  it("warns once at start when the configured image is missing (the seed's: with the fix that works for it)", async () => {
    const facts = vi.fn(async () => ({ imageExists: false, hasCredential: true }));
    const { services, ctx, host } = harness(
      'full',
      { image: 'ghcr.io/13rac1/openclaw-claude-code:latest' },
      facts,
    );
    await services[0]!.start(ctx);
    await host.get();
    await vi.waitFor(() => expect(ctx.logger.warn).toHaveBeenCalled());
    expect(facts).toHaveBeenCalledTimes(1);
    expect(ctx.logger.warn).toHaveBeenCalledTimes(1);
    const [warning] = ctx.logger.warn.mock.calls[0]! as [string];
    expect(warning).toMatch(
      /^claude-code: the configured image ghcr\.io\/13rac1\/openclaw-claude-code:latest does not exist/,
    );
    expect(warning).toMatch(
      /remove the "image" key .* or build claude-pod's image under that name: `claude-pod setup --config ~\/\.openclaw\/openclaw\.json`/,
    );
  });

  it('warns at start when the gateway has no credentials, pointing at the offline try-out', async () => {
    const { services, ctx, host } = harness('full', {}, async () => ({
      imageExists: true,
      hasCredential: false,
    }));
    await services[0]!.start(ctx);
    await host.get();
    await vi.waitFor(() => expect(ctx.logger.warn).toHaveBeenCalledTimes(1));
    expect(ctx.logger.warn.mock.calls[0]![0]).toMatch(
      /no Anthropic credentials .* NO_AUTH.*ANTHROPIC_API_KEY.*claude-pod mock-api/,
    );
  });

  it('says nothing more when the image and credentials are there', async () => {
    const { services, ctx, host } = harness();
    await services[0]!.start(ctx);
    await host.get();
    await new Promise((r) => setTimeout(r, 20));
    expect(ctx.logger.warn).not.toHaveBeenCalled();
  });
});
