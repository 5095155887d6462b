import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Request headers that reach the model API: only these, each for a reason. The list is what
 * Claude Code 2.1.331 sends on `POST /v1/messages?beta=true` (captured through this proxy against
 * the in-repo mock, api-key and OAuth). Everything else is dropped: hop-by-hop headers, the
 * capability itself (the credential is set by the proxy), and anything a container could use to
 * steer the upstream (`x-http-method-override`, `x-forwarded-*`, `anthropic-organization-id`, …).
 */
export const FORWARDED_REQUEST_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'the API accepts only application/json bodies',
  'content-length': 'frames the body (node:http has checked it is one integer)',
  accept: 'the representation the SDK parses (JSON; SSE is chosen by "stream" in the body)',
  'accept-encoding': 'lets the API compress non-streamed replies; the SDK decodes them',
  'anthropic-version': 'required by the API on every request',
  'anthropic-beta': "turns on the features Claude Code's requests use; filtered flag by flag below",
  'user-agent':
    'identifies Claude Code and its version (claude-cli/…): the API treats Claude Code traffic by it',
  'x-app': 'identifies the Claude Code CLI (x-app: cli), as user-agent does',
  'x-claude-code-session-id': "ties requests to Claude Code's session (the API's caching and attribution)",
  'anthropic-dangerous-direct-browser-access':
    'sent by the SDK on every request; only affects CORS response headers, kept so requests are unchanged',
  'x-stainless-retry-count':
    'how often the SDK has retried this request (the API uses it for retry accounting)',
  'x-stainless-timeout':
    "the SDK's timeout in seconds: the API uses it to decide on long non-streamed requests",
  'x-stainless-arch': 'SDK platform telemetry, sent on every request (harmless, fixed vocabulary)',
  'x-stainless-lang': 'SDK platform telemetry',
  'x-stainless-os': 'SDK platform telemetry',
  'x-stainless-package-version': 'SDK version',
  'x-stainless-runtime': 'SDK platform telemetry',
  'x-stainless-runtime-version': 'SDK platform telemetry',
};

/**
 * `anthropic-beta` flags Claude Code 2.1.331 sends (api-key and OAuth). A flag not listed is
 * dropped and logged (by name): betas such as `mcp-client-*` (the API connects to a URL the request
 * names), `files-api-*` or `code-execution-*` would let a container use the operator's account
 * for more than Claude Code's own requests.
 */
export const ALLOWED_BETAS: ReadonlySet<string> = new Set([
  'claude-code-20250219',
  'oauth-2025-04-20',
  'interleaved-thinking-2025-05-14',
  'context-management-2025-06-27',
  'per-turn-control-2026-07-01',
  'mid-conversation-tool-changes-2026-07-01',
  'thinking-token-count-2026-05-13',
  'advanced-tool-use-2025-11-20',
  'effort-2025-11-24',
  'thinking-display-updates-2026-08-18',
  'extended-cache-ttl-2025-04-11',
]);

const MAX_VALUE_LENGTH = 2048;

export interface FilteredHeaders {
  headers: OutgoingHttpHeaders;
  /** Header names that were present and not forwarded (for a debug log; values never logged). */
  dropped: string[];
  /** `anthropic-beta` flags that were dropped. */
  droppedBetas: string[];
}

export function filterBetas(value: string): { kept: string[]; dropped: string[] } {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const flag of value.split(',')) {
    const name = flag.trim();
    if (name.length === 0) continue;
    if (ALLOWED_BETAS.has(name)) {
      if (!kept.includes(name)) kept.push(name);
    } else dropped.push(name.slice(0, 80));
  }
  return { kept, dropped };
}

/** The request headers to send upstream: the allowlist above, the credential added by the caller. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders): FilteredHeaders {
  const headers: OutgoingHttpHeaders = {};
  const dropped: string[] = [];
  let droppedBetas: string[] = [];
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    // Repeated headers that node:http keeps as arrays are never needed: drop them.
    if (!Object.hasOwn(FORWARDED_REQUEST_HEADERS, name) || typeof value !== 'string') {
      if (name !== 'host' && name !== 'connection') dropped.push(name.slice(0, 80));
      continue;
    }
    if (value.length > MAX_VALUE_LENGTH) {
      dropped.push(name);
      continue;
    }
    if (name === 'anthropic-beta') {
      const betas = filterBetas(value);
      droppedBetas = betas.dropped;
      if (betas.kept.length > 0) headers[name] = betas.kept.join(',');
      continue;
    }
    headers[name] = value;
  }
  return { headers, dropped, droppedBetas };
}

/** Response headers that never reach the container: hop-by-hop, and cookies of the operator's account. */
const DROP_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
]);

export function downstreamResponseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && !DROP_RESPONSE_HEADERS.has(name)) out[name] = value;
  }
  return out;
}

/** The capability token a request carries: `x-api-key`, or `Authorization: Bearer` (OAuth mode). */
export function capabilityFrom(headers: IncomingHttpHeaders): string | null {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match?.[1]) return match[1];
  }
  return null;
}
