import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { capabilityFrom, downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { EgressHandler } from './egress/egress-proxy.js';
import { AuthExpiredError, type CredentialSource } from './credential-source.js';
import { matchRoute, type Route } from './route.js';
import { serverToolsIn } from './server-tools.js';
import { normalizeUpstream } from './settings.js';
import { ThrottledLog } from './throttled-log.js';

/**
 * The HTTP side of the API proxy, for a request that arrived on one job's socket: check its rate,
 * its path and its capability token (which must be that job's), swap the token for the real
 * credential and stream the exchange to the model API and back. Responses are never buffered, so
 * SSE events reach the client as they come; a request body is piped too, and also kept when it
 * may be sent twice (an OAuth credential upstream refused is renewed once) or must be read first
 * (refuseServerTools).
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
  credential: CredentialSource;
  /** Refuse `/v1/messages` requests that enable server-side tools (server-tools.ts). */
  refuseServerTools?: boolean;
  /** Absolute-form requests (`GET http://host/…`): the egress proxy's (egress/egress-proxy.ts). */
  egress?: EgressHandler;
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

/** The Messages API refuses bodies over 32 MB; a request we may send twice is kept up to that. */
const MAX_REPLAY_BYTES = 32 * 1024 * 1024;

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
export function refuse(
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
    if (options.egress && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(rawUrl)) {
      options.egress.request(req, res, job);
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
    forward(req, res, route, job.jobId);
  }

  function forward(req: IncomingMessage, res: ServerResponse, route: Route, jobId: string): void {
    const started = Date.now();
    const path = route.path;
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
    const source = options.credential;
    // A request body is kept (up to MAX_REPLAY_BYTES) only where it may be sent twice: a 401 with
    // a renewable credential is retried once, if nothing of the response has reached the client.
    const inspect = options.refuseServerTools === true && route.name === 'messages';
    const keep = source.renewable || inspect;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let overflow = false;
    let current: http.ClientRequest | null = null;
    let upstreamRes: IncomingMessage | null = null;
    let retried = false;

    // The client went away before the exchange finished: abort upstream so the model stops generating.
    res.on('close', () => {
      if (res.writableFinished) return;
      if (current && !current.destroyed) {
        logger.info({ jobId, path: shownPath }, 'client disconnected, upstream request aborted');
        current.destroy();
      }
      upstreamRes?.destroy();
    });
    req.on('error', () => current?.destroy());
    const bodyEnded = new Promise<void>((resolve) => {
      if (req.readableEnded) resolve();
      req.once('end', resolve);
      req.once('close', resolve);
    });
    const consume = (): void => {
      req.on('data', (chunk: Buffer) => {
        options.onActivity(jobId);
        if (!keep || overflow) return;
        keptBytes += chunk.length;
        if (keptBytes > MAX_REPLAY_BYTES) {
          overflow = true;
          kept.length = 0;
        } else kept.push(chunk);
      });
    };

    const authFailed = (error: unknown): void => {
      const reason = error instanceof AuthExpiredError ? error.reason : (error as Error).message;
      logger.warn({ jobId, path: shownPath, reason }, 'no valid credential for the model API');
      res.shouldKeepAlive = false;
      const message =
        error instanceof AuthExpiredError ? error.message : new AuthExpiredError(reason).message;
      sendApiError(res, 401, 'authentication_error', message, {
        'x-should-retry': 'false',
        connection: 'close',
      });
      req.resume();
    };

    const send = (credential: string, body: Buffer | null): void => {
      const outgoing: http.OutgoingHttpHeaders = { ...headers };
      if (source.kind === 'api-key') outgoing['x-api-key'] = credential;
      else outgoing.authorization = `Bearer ${credential}`;
      if (body !== null) {
        delete outgoing['transfer-encoding'];
        outgoing['content-length'] = String(body.length);
      }
      const upstreamReq = transport.request({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port || undefined,
        method: req.method,
        path: basePath + path,
        headers: outgoing,
        agent,
        timeout: idleMs,
      });
      current = upstreamReq;
      upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('upstream idle timeout')));
      upstreamReq.on('error', (error) => {
        if (current !== upstreamReq) return; // a first attempt given up for a retry
        logger.warn({ jobId, path: shownPath, err: error.message }, 'upstream request failed');
        if (!res.headersSent)
          sendApiError(res, 502, 'api_error', 'claude-pod: the model API could not be reached');
        else res.destroy();
      });
      upstreamReq.on('response', (response) => {
        if (response.statusCode === 401 && source.renewable && !retried && !overflow && !res.headersSent) {
          retried = true;
          if (body === null) req.unpipe(upstreamReq);
          current = null;
          upstreamReq.destroy();
          logger.info(
            { jobId, path: shownPath },
            'upstream refused the credential (401): renewing, one retry',
          );
          void retry(credential);
          return;
        }
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
              ...(retried ? { retried: true } : {}),
            },
            'api request',
          );
        });
      });
      if (body !== null) {
        upstreamReq.end(body);
        return;
      }
      req.pipe(upstreamReq);
      consume();
    };

    const retry = async (rejected: string): Promise<void> => {
      let next: string;
      try {
        next = await source.renew(rejected);
      } catch (error) {
        authFailed(error);
        return;
      }
      await bodyEnded;
      if (res.destroyed || res.headersSent) return;
      if (overflow || !req.complete) {
        authFailed(new AuthExpiredError('the request was too large to send again after a refresh'));
        return;
      }
      send(next, Buffer.concat(kept));
    };

    void (async () => {
      let credential: string;
      try {
        credential = await source.current();
      } catch (error) {
        authFailed(error);
        return;
      }
      if (res.destroyed) return;
      if (!inspect) {
        send(credential, null);
        options.onActivity(jobId);
        return;
      }
      consume();
      await bodyEnded;
      if (res.destroyed) return;
      if (overflow || !req.complete) {
        refuse(req, res, 413, 'invalid_request_error', 'request body too large to inspect');
        return;
      }
      const body = Buffer.concat(kept);
      const found = serverToolsIn(body, req.headers['anthropic-beta']);
      if (found.length > 0) {
        logger.warn({ jobId, serverTools: found }, 'request enabling server-side tools refused');
        refuse(
          req,
          res,
          403,
          'permission_error',
          `server-side tools are refused by refuseServerTools (found: ${found.join(', ')})`,
        );
        return;
      }
      send(credential, body);
      options.onActivity(jobId);
    })().catch((error: unknown) => {
      logger.error({ jobId, err: error }, 'api proxy request failed');
      sendApiError(res, 500, 'api_error', 'claude-pod api proxy: internal error');
    });
  }
}
