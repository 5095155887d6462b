import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { capabilityFrom, downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { matchRoute } from './route.js';
import { normalizeUpstream, type ProxyCredential } from './settings.js';
import { ThrottledLog } from './throttled-log.js';

/**
 * The HTTP side of the API proxy, for a request that arrived on one job's socket: check its rate,
 * its path and its capability token (which must be that job's), swap the token for the real
 * credential and stream the exchange to the model API and back. Nothing is buffered: bodies are
 * piped, so SSE events reach the client as they come.
 */
export interface JobContext {
  readonly jobId: string;
  /** Spends one request of the job's rate; false when it is over (the job's reads are paused). */
  admitRequest(): boolean;
  /** Counts a request in flight upstream; false when the job already has its maximum. */
  beginExchange(): boolean;
  endExchange(): void;
}

export interface ForwarderOptions {
  upstream: string;
  credential: ProxyCredential;
  /** The job a capability token was granted to, or null. In memory: never waits on the disk. */
  lookupToken: (token: string) => string | null;
  /** Bytes moved for the job (its activity file). */
  onActivity: (jobId: string) => void;
  /** True while the daemon drains: responses ask the client to close the connection. */
  draining: () => boolean;
  logger: Logger;
  /** Idle timeout of an upstream exchange (no bytes either way). */
  upstreamIdleMs?: number;
}

type ErrorType =
  'authentication_error' | 'permission_error' | 'api_error' | 'invalid_request_error' | 'rate_limit_error';

/** An error in the Messages API's own shape, so Claude Code reports it like any API error. */
export function sendApiError(
  res: ServerResponse,
  status: number,
  type: ErrorType,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: 'error', error: { type, message } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

/**
 * A refusal also ends the connection: an unread body is never read, a flood gets nothing to reuse.
 * A 401 or 403 will not change on a retry: `x-should-retry: false` tells the SDK so; a 429 asks
 * for a retry after a second.
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: ErrorType,
  msg: string,
): void {
  res.shouldKeepAlive = false;
  const extra: Record<string, string> =
    status === 429
      ? { 'retry-after': '1', connection: 'close' }
      : { 'x-should-retry': 'false', connection: 'close' };
  sendApiError(res, status, type, `claude-pod: ${msg}`, extra);
  req.resume();
}

export type JobRequestHandler = (req: IncomingMessage, res: ServerResponse, job: JobContext) => void;

export function createForwarder(options: ForwarderOptions): JobRequestHandler {
  const base = new URL(normalizeUpstream(options.upstream));
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxFreeSockets: 16 });
  const basePath = base.pathname === '/' ? '' : base.pathname;
  const idleMs = options.upstreamIdleMs ?? 10 * 60_000;
  const { logger } = options;
  const warnings = new ThrottledLog(logger);

  return (req, res, job) => {
    try {
      handle(req, res, job);
    } catch (error) {
      logger.error({ jobId: job.jobId, err: error }, 'api proxy request failed');
      sendApiError(res, 500, 'api_error', 'claude-pod api proxy: internal error');
    }
  };

  function handle(req: IncomingMessage, res: ServerResponse, job: JobContext): void {
    if (options.draining()) res.shouldKeepAlive = false;
    if (!job.admitRequest()) {
      warnings.warn(`rate:${job.jobId}`, { jobId: job.jobId }, 'job over its request rate: 429');
      refuse(req, res, 429, 'rate_limit_error', 'too many requests from this job');
      return;
    }
    const rawUrl = req.url ?? '/';
    // Older Claude Code versions probe `HEAD /`: answered here, never forwarded.
    if ((req.method === 'HEAD' || req.method === 'GET') && rawUrl === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.method === 'GET' ? 'ok\n' : undefined);
      req.resume();
      return;
    }
    const route = matchRoute(req.method, rawUrl);
    if (!route) {
      const shown = rawUrl.split('?')[0]?.slice(0, 200) ?? '';
      refuse(req, res, 403, 'permission_error', `${req.method ?? '?'} ${shown} is not allowed`);
      return;
    }
    const token = capabilityFrom(req.headers);
    const tokenJob = token === null ? null : options.lookupToken(token);
    if (tokenJob !== job.jobId) {
      if (tokenJob !== null) {
        // Another job's live token: someone moved it between containers. Job ids only, never the token.
        warnings.warn(
          `cross:${job.jobId}:${tokenJob}`,
          { socketJob: job.jobId, tokenJob },
          "capability token used on another job's socket: refused",
        );
      } else {
        warnings.warn(
          `token:${job.jobId}`,
          { jobId: job.jobId },
          'missing, unknown or revoked token: refused',
        );
      }
      refuse(req, res, 401, 'authentication_error', 'invalid or revoked capability token');
      return;
    }
    if (!job.beginExchange()) {
      warnings.warn(`inflight:${job.jobId}`, { jobId: job.jobId }, 'job at its requests-in-flight cap: 429');
      refuse(req, res, 429, 'rate_limit_error', 'too many concurrent requests from this job');
      return;
    }
    let ended = false;
    res.once('close', () => {
      if (ended) return;
      ended = true;
      job.endExchange();
    });
    forward(req, res, route.path, job.jobId);
  }

  function forward(req: IncomingMessage, res: ServerResponse, path: string, jobId: string): void {
    const started = Date.now();
    const shownPath = path.split('?')[0];
    const filtered = upstreamRequestHeaders(req.headers);
    if (filtered.droppedBetas.length > 0) {
      warnings.warn(
        `beta:${jobId}`,
        { jobId, betas: filtered.droppedBetas },
        'anthropic-beta flags not on the allowlist were dropped',
      );
    }
    if (filtered.dropped.length > 0) logger.debug({ jobId, headers: filtered.dropped }, 'headers dropped');
    const headers = filtered.headers;
    headers.host = base.host;
    if (options.credential.kind === 'api-key') headers['x-api-key'] = options.credential.value;
    else headers.authorization = `Bearer ${options.credential.value}`;

    const upstreamReq = transport.request({
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port || undefined,
      method: req.method,
      path: basePath + path,
      headers,
      agent,
      timeout: idleMs,
    });

    let upstreamRes: IncomingMessage | null = null;
    upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('upstream idle timeout')));
    upstreamReq.on('error', (error) => {
      logger.warn({ jobId, path: shownPath, err: error.message }, 'upstream request failed');
      if (!res.headersSent)
        sendApiError(res, 502, 'api_error', 'claude-pod: the model API could not be reached');
      else res.destroy();
    });
    upstreamReq.on('response', (response) => {
      upstreamRes = response;
      res.writeHead(
        response.statusCode ?? 502,
        response.statusMessage,
        downstreamResponseHeaders(response.headers),
      );
      // Send the head now: an SSE stream may take a while to produce its first event.
      res.flushHeaders();
      response.pipe(res);
      response.on('data', () => options.onActivity(jobId));
      // A stream cut short upstream must reach the client as a cut, not as a clean end.
      response.on('aborted', () => res.destroy());
      response.on('error', () => res.destroy());
      response.on('end', () => {
        logger.info(
          {
            jobId,
            method: req.method,
            path: shownPath,
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
        logger.info({ jobId, path: shownPath }, 'client disconnected, upstream request aborted');
        upstreamReq.destroy();
      }
      upstreamRes?.destroy();
    });
    req.on('error', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
    req.on('data', () => options.onActivity(jobId));
    options.onActivity(jobId);
  }
}
