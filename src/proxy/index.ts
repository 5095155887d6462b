export { ensureApiProxy, type ApiProxyHandle, type EnsureApiProxyOptions } from './client.js';
export type { CredentialKind, ProxyCredential } from './settings.js';
export { proxyPaths, type ProxyPaths } from './paths.js';
