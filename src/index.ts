/** claude-pod as a library: a supervisor of Claude Code jobs in hardened containers. */
export {
  createSupervisor,
  openOwner,
  connectClient,
  type CreateSupervisorOptions,
} from './supervisor/create.js';
export type {
  SupervisorApi,
  StartInput,
  StartResult,
  CleanupResult,
  WaitOptions,
  SupervisorInfo,
} from './supervisor/api.js';
export { SupervisorClient } from './supervisor/control/client.js';
export { Supervisor, type SupervisorEvents, type OutputPage } from './supervisor/supervisor.js';
export type { JobStatus } from './supervisor/job-view.js';
export type { SessionInfo } from './supervisor/session-view.js';
export type { ApiGate, ApiAccess } from './supervisor/api-gate.js';
export { configSchema, parseConfig, configJsonSchema, DEFAULT_IMAGE } from './shared/config.js';
export type { Config, ConfigInput, ResolvedConfig } from './shared/config.js';
export { ClaudePodError, ErrorCodes, isClaudePodError, type ErrorCode } from './shared/errors.js';
export type { RuntimeInfo } from './runtime/runtime-info.js';
