/**
 * The gateway's plugin when a `claude-pod serve` daemon (another process) already owns the state
 * directory: the plugin's service becomes its client, and every tool acts on the owner's jobs.
 * The owner is a real process (test/fixtures/owner-child.mts) on the fake runtime; the plugin's
 * supervisor is the real createSupervisor, as the gateway opens it.
 */
import { resolve } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerClaudeCode } from '../../../src/plugin/register.js';
import type { PluginApi, PluginService } from '../../../src/plugin/sdk-types.js';
import { SupervisorHost } from '../../../src/plugin/supervisor-host.js';
import { createSupervisor } from '../../../src/supervisor/create.js';
import type { AgentToolLike } from '../../../src/tools/define.js';
import { childLines, fakeWorld, until, type FakeWorld } from '../supervisor/fake-world.js';

const logger = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() });

let world: FakeWorld | undefined;
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});

describe('the plugin beside a running daemon', () => {
  it("is the daemon's client: start, status, output, sessions and cancel act on the daemon's jobs", async () => {
    world = await fakeWorld({ FAKE_HOLD_MS: '-1' });
    const owner = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve('test/fixtures/owner-child.mts'),
        JSON.stringify(world.config),
        JSON.stringify({ runtime: world.runtime(), inertGate: true }),
      ],
      { reject: false, buffer: false, stdin: 'ignore' },
    );
    const host = new SupervisorHost(20_000);
    try {
      const lines = childLines(owner);
      await until('the daemon ready', () => lines.find((l) => l.event === 'ready'));

      const tools: AgentToolLike[] = [];
      const services: PluginService[] = [];
      const api: PluginApi = {
        id: 'claude-code',
        registrationMode: 'full',
        config: {},
        pluginConfig: world.config as Record<string, unknown>,
        logger: logger(),
        registerTool: (tool) => tools.push(tool),
        registerService: (service) => services.push(service),
      };
      const roles: string[] = [];
      registerClaudeCode(api, {
        host,
        preflight: async () => ({ imageExists: true, hasCredential: true }),
        // The real createSupervisor, without the gateway's "start a daemon if the owner goes".
        createSupervisor: async (config, options) => {
          const sup = await createSupervisor(config, options);
          roles.push(sup.info().role);
          return sup;
        },
      });
      services[0]!.start({ config: {}, stateDir: world.dir, logger: logger() });
      const tool = (name: string) => tools.find((t) => t.name === name)!;
      const call = async (name: string, params: Record<string, unknown>) =>
        (await tool(name).execute('call', params)).details as Record<string, unknown>;

      const started = await call('claude_code_start', { prompt: 'hello from the gateway' });
      expect(started).toMatchObject({ ok: true, status: expect.any(String) });
      expect(roles).toEqual(['client']);
      const jobId = started.jobId as string;
      const sessionId = started.sessionId as string;
      // The daemon, not the plugin, runs it.
      await until('the daemon ran the job', () =>
        lines.find((l) => l.event === 'running' && l.jobId === jobId),
      );
      await until('running, through the tool', async () => {
        const s = await call('claude_code_status', { job_id: jobId, session_id: sessionId });
        return s.status === 'running' ? s : undefined;
      });
      await until('output, through the tool', async () => {
        const o = await call('claude_code_output', { job_id: jobId });
        return o.ok === true && (o.size as number) > 0 ? o : undefined;
      });
      const sessions = await call('claude_code_sessions', {});
      expect(JSON.stringify(sessions)).toContain(sessionId);

      const cancelled = await call('claude_code_cancel', { job_id: jobId });
      expect(cancelled).toMatchObject({ ok: true });
      await until('the daemon saw it end cancelled', () =>
        lines.find((l) => l.event === 'end' && l.jobId === jobId && l.status === 'cancelled'),
      );
      const after = await call('claude_code_status', { job_id: jobId });
      expect(after).toMatchObject({ status: 'cancelled' });
    } finally {
      await host.stop().catch(() => undefined);
      owner.kill('SIGKILL');
      await owner;
    }
  });
});
