/**
 * The environment that sends a job's HTTP(S) through the host-side proxy in the `proxy` network
 * mode. The in-container forwarder (127.0.0.1:<port>) carries CONNECT and absolute-URL requests
 * over the job's socket like model-API requests; the proxy wants the job's capability token, in
 * the proxy URL's password (curl, git, npm, pip and go all send it as `Proxy-Authorization:
 * Basic`). Both spellings: curl reads only the lower-case `http_proxy`, Go and pip either. The
 * values hold the token, so they travel as secret variables (never in argv). NO_PROXY keeps the
 * model API (ANTHROPIC_BASE_URL on loopback) and anything else local off the proxy.
 */
export const EGRESS_PROXY_USER = 'claude-pod';

export function egressProxyEnv(port: number, token: string): Record<string, string> {
  const url = `http://${EGRESS_PROXY_USER}:${encodeURIComponent(token)}@127.0.0.1:${port}`;
  return {
    HTTPS_PROXY: url,
    HTTP_PROXY: url,
    https_proxy: url,
    http_proxy: url,
  };
}

export const NO_PROXY_VALUE = '127.0.0.1,localhost,::1';

export function noProxyEnv(): Record<string, string> {
  return { NO_PROXY: NO_PROXY_VALUE, no_proxy: NO_PROXY_VALUE };
}
