/**
 * The few OpenClaw plugin-API types this plugin uses, declared locally (from openclaw 2026.9.6's
 * `dist/plugin-sdk/*.d.ts`) so that neither the library nor its type check needs the `openclaw`
 * package, which is large and requires Node 24. Only the members we call are listed.
 */
import type { AgentToolLike } from '../tools/define.js';

export type PluginRegistrationMode =
  'full' | 'discovery' | 'tool-discovery' | 'setup-only' | 'setup-runtime' | 'cli-metadata';

export interface PluginLogger {
  debug?: (message: string) => void;
  info: (message: string) => void;
  warn: (message: string) => void;
  error: (message: string) => void;
}

/** The parts of the gateway's `openclaw.json` the plugin reads. */
export interface GatewayConfigView {
  gateway?: { port?: number };
  hooks?: { enabled?: boolean; token?: string; path?: string };
  [key: string]: unknown;
}

export interface PluginServiceContext {
  config: GatewayConfigView;
  stateDir: string;
  logger: PluginLogger;
}

export interface PluginService {
  id: string;
  start: (ctx: PluginServiceContext) => void | Promise<void>;
  stop?: (ctx: PluginServiceContext) => void | Promise<void>;
}

export interface PluginApi {
  id: string;
  registrationMode: PluginRegistrationMode;
  config: GatewayConfigView;
  pluginConfig?: Record<string, unknown>;
  logger: PluginLogger;
  registerTool: (tool: AgentToolLike, opts?: { name?: string; optional?: boolean }) => void;
  registerService: (service: PluginService) => void;
}

export interface PluginEntryOptions {
  id: string;
  name: string;
  description: string;
  register: (api: PluginApi) => void;
}
