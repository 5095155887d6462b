import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { normalizeUpstream, type ProxyCredential } from './settings.js';

/**
 * The HTTP side of the API proxy: authorise a request by its capability token, swap the token for
 * the real credential and stream the exchange to the upstream model API and back. Nothing is
 * buffered: request and response bodies are piped, so SSE events reach the client as they come.
 */
export interface ApiProxyHandlerOptions {
  upstream: string;
  credential: ProxyCredential;
  /** Resolves a capability token to the job it was granted to, or null. */
  lookupToken: (token: string) => Promise<string | null>;
  logger: Logger;
  /** Idle timeout of an upstream exchange (no bytes either way). */
  upstreamIdleMs?: number;
}

/** Model-API paths a job may use; everything else is refused. Matched on the raw path, so `..` can't sneak by. */
const ALLOWED: ReadonlyArray<{ method: string; path: RegExp }> = [
  { method: 'POST', path: /^\/v1\/messages$/ },
  { method: 'POST', path: /^\/v1\/messages\/count_tokens$/ },
  { method: 'GET', path: /^\/v1\/models$/ },
  { method: 'GET', path: /^\/v1\/models\/[A-Za-z0-9._:@-]+$/ },
];
const SAFE_QUERY = /^[A-Za-z0-9._~\-=&%+,:]*$/;

/** Never forwarded upstream: hop-by-hop headers, the capability itself, and anything naming the client side. */
const DROP_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'x-api-key',
  'authorization',
  'cookie',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
]);
const DROP_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
]);

type ErrorType = 'authentication_error' | 'permission_error' | 'api_error' | 'invalid_request_error';

/** An error in the Messages API's own shape, so Claude Code reports it like any API error. */
export function sendApiError(res: ServerResponse, status: number, type: ErrorType, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: 'error', error: { type, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

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

export function isAllowed(method: string | undefined, rawUrl: string | undefined): boolean {
  if (!method || !rawUrl) return false;
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);
  if (!SAFE_QUERY.test(query)) return false;
  return ALLOWED.some((rule) => rule.method === method && rule.path.test(path));
}

export function createApiProxyHandler(
  options: ApiProxyHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const base = new URL(normalizeUpstream(options.upstream));
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxFreeSockets: 16 });
  const basePath = base.pathname === '/' ? '' : base.pathname;
  const idleMs = options.upstreamIdleMs ?? 10 * 60_000;
  const { logger } = options;

  return (req, res) => {
    void handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'api proxy request failed');
      sendApiError(res, 500, 'api_error', 'claude-pod api proxy: internal error');
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    // Health checks (and older Claude Code versions probe `HEAD /`): answered here, never forwarded.
    if ((req.method === 'HEAD' || req.method === 'GET') && (rawUrl === '/' || rawUrl.startsWith('/?'))) {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-claude-pod-proxy-pid': String(process.pid) });
      res.end(req.method === 'GET' ? 'ok\n' : undefined);
      req.resume();
      return;
    }
    if (!isAllowed(req.method, rawUrl)) {
      req.resume();
      sendApiError(
        res,
        403,
        'permission_error',
        `claude-pod: ${req.method} ${rawUrl.split('?')[0]} is not allowed`,
      );
      return;
    }
    const token = capabilityFrom(req.headers);
    const jobId = token === null ? null : await options.lookupToken(token);
    if (jobId === null) {
      req.resume();
      sendApiError(res, 401, 'authentication_error', 'claude-pod: invalid or revoked capability token');
      return;
    }
    forward(req, res, rawUrl, jobId);
  }

  function forward(req: IncomingMessage, res: ServerResponse, rawUrl: string, jobId: string): void {
    const started = Date.now();
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !DROP_REQUEST_HEADERS.has(name)) headers[name] = value;
    }
    headers.host = base.host;
    if (options.credential.kind === 'api-key') headers['x-api-key'] = options.credential.value;
    else headers.authorization = `Bearer ${options.credential.value}`;

    const upstreamReq = transport.request({
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port || undefined,
      method: req.method,
      path: basePath + rawUrl,
      headers,
      agent,
      timeout: idleMs,
    });

    let upstreamRes: IncomingMessage | null = null;
    upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('upstream idle timeout')));
    upstreamReq.on('error', (error) => {
      logger.warn({ jobId, path: rawUrl, err: error.message }, 'upstream request failed');
      if (!res.headersSent)
        sendApiError(res, 502, 'api_error', 'claude-pod: the model API could not be reached');
      else res.destroy();
    });
    upstreamReq.on('response', (response) => {
      upstreamRes = response;
      const out: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined && !DROP_RESPONSE_HEADERS.has(name)) out[name] = value;
      }
      res.writeHead(response.statusCode ?? 502, response.statusMessage, out);
      // Send the head now: an SSE stream may take a while to produce its first event.
      res.flushHeaders();
      response.pipe(res);
      // A stream cut short upstream must reach the client as a cut, not as a clean end.
      response.on('aborted', () => res.destroy());
      response.on('error', () => res.destroy());
      response.on('end', () => {
        logger.info(
          {
            jobId,
            method: req.method,
            path: rawUrl.split('?')[0],
            status: response.statusCode,
            ms: Date.now() - started,
          },
          'api request',
        );
      });
    });

    // The client went away before the exchange finished: abort upstream so the model stops generating.
    res.on('close', () => {
      if (res.writableFinished) return;
      if (!upstreamReq.destroyed) {
        logger.info({ jobId, path: rawUrl.split('?')[0] }, 'client disconnected, upstream request aborted');
        upstreamReq.destroy();
      }
      upstreamRes?.destroy();
    });
    req.on('error', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  }
}
