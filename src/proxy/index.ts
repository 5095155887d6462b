export {
  ensureApiProxy,
  type ApiProxyHandle,
  type EnsureApiProxyOptions,
  type JobGrant,
  type SocketOwner,
} from './client.js';
export type { CredentialKind, ProxyCredential } from './settings.js';
export { proxyPaths, type ProxyPaths } from './paths.js';
export { DEFAULT_JOB_LIMITS, type JobLimits, type JobLimitsInput } from './limits.js';
