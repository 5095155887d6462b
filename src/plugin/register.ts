import { createSupervisor, type CreateSupervisorOptions } from '../supervisor/create.js';
import type { ResolvedConfig } from '../shared/config.js';
import { serializeError } from '../shared/errors.js';
import { claudeCodeTools, toAgentTool } from '../tools/index.js';
import { ensureOwner } from '../supervisor/daemon.js';
import { resolvePluginConfig } from './plugin-config.js';
import { gatewayLogger } from './plugin-logger.js';
import { gatherFacts, preflightWarnings, type PreflightFacts } from './preflight.js';
import type { PluginApi, PluginEntryOptions, PluginServiceContext } from './sdk-types.js';
import { SupervisorHost, type HostedSupervisor } from './supervisor-host.js';

export const PLUGIN_ID = 'claude-code';
export const PLUGIN_NAME = 'Claude Code';
export const PLUGIN_DESCRIPTION =
  'Run Claude Code sessions as background jobs in locked-down Podman containers (claude-pod)';
export const SERVICE_ID = 'claude-code-supervisor';

export interface ClaudeCodePluginDeps {
  /** Replaces createSupervisor (unit tests). */
  createSupervisor?: (config: ResolvedConfig, options: CreateSupervisorOptions) => Promise<HostedSupervisor>;
  /** Replaces the process-wide host (unit tests). */
  host?: SupervisorHost;
  /** Replaces the start-up checks of the image and the credentials (unit tests). */
  preflight?: (config: ResolvedConfig) => Promise<PreflightFacts>;
}

/**
 * The gateway owns the state directory (and serves its control API), or — when a `claude-pod
 * serve` daemon already does — is its client; should that daemon go away, a new one is started
 * so the gateway's jobs are never left without a supervisor.
 */
const createHosted = (config: ResolvedConfig, options: CreateSupervisorOptions): Promise<HostedSupervisor> =>
  createSupervisor(config, { ...options, client: { onOwnerGone: () => ensureOwner(config) } });

const HOST_KEY = Symbol.for('claude-pod.openclaw.supervisor-host');

/**
 * One host per process, even if the gateway imports this module more than once: every
 * registration's tools must reach the supervisor that the one started service owns.
 */
function sharedHost(): SupervisorHost {
  const slot = globalThis as { [HOST_KEY]?: SupervisorHost };
  return (slot[HOST_KEY] ??= new SupervisorHost());
}

export function createPluginEntry(deps: ClaudeCodePluginDeps = {}): PluginEntryOptions {
  return {
    id: PLUGIN_ID,
    name: PLUGIN_NAME,
    description: PLUGIN_DESCRIPTION,
    register: (api) => registerClaudeCode(api, deps),
  };
}

/**
 * Runs in every registration mode (discovery ones included), so it only declares: the six tools
 * and the service. Nothing starts here; the service's start() creates the supervisor (which
 * re-attaches jobs a previous gateway left running) and stop() detaches without killing them.
 */
export function registerClaudeCode(api: PluginApi, deps: ClaudeCodePluginDeps = {}): void {
  const host = deps.host ?? sharedHost();
  for (const spec of claudeCodeTools) {
    api.registerTool(
      toAgentTool(spec, () => host.get()),
      { name: spec.name },
    );
  }
  const create = deps.createSupervisor ?? createHosted;
  const preflight = deps.preflight ?? ((config: ResolvedConfig) => gatherFacts(config));
  api.registerService({
    id: SERVICE_ID,
    start: (ctx: PluginServiceContext) => {
      const log = ctx.logger ?? api.logger;
      // Not awaited: recovery talks to the container runtime and must not hold up the gateway.
      // Tool calls made meanwhile wait for it.
      host
        .start(async () => {
          const config = resolvePluginConfig(api.pluginConfig, ctx.config ?? api.config);
          const supervisor = await create(config, { logger: gatewayLogger(log) });
          const running = supervisor.sessions().filter((s) => s.activeJob).length;
          const { notifications } = supervisor.info();
          log.info(
            `claude-code: supervisor ready (${running} active job${running === 1 ? '' : 's'}); ` +
              `notifications ${notifications.enabled ? `to ${notifications.url}` : 'off (no hooks token: enable hooks in openclaw.json)'}`,
          );
          // Once per gateway start: a missing image or missing credentials, with the fix.
          void preflight(config).then(
            (facts) => preflightWarnings(config, facts).forEach((w) => log.warn(w)),
            () => undefined,
          );
          return supervisor;
        })
        .catch((error: unknown) => {
          const { code, message } = serializeError(error);
          const fix =
            code === 'RUNTIME_MISSING' || code === 'RUNTIME_FAILED'
              ? ' Fix: run `claude-pod setup` and `claude-pod doctor` on the gateway host, as the user the gateway runs as.'
              : '';
          log.error(`claude-code: supervisor failed to start [${code}]: ${message}${fix}`);
        });
    },
    stop: async (ctx: PluginServiceContext) => {
      await host.stop();
      (ctx?.logger ?? api.logger).info(
        'claude-code: supervisor stopped (jobs still running keep running; the next start re-attaches them)',
      );
    },
  });
}
