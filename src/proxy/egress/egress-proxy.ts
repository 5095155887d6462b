import { lookup } from 'node:dns/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { addressListed, matchHost, type AllowlistEntry } from '../../shared/egress-allowlist.js';
import { isInternalAddress } from './address-policy.js';
import { parseAbsoluteUrl, parseAuthority, type EgressTarget } from './target.js';

/**
 * The host side of the `proxy` network mode: an HTTP proxy (CONNECT for HTTPS, absolute-form
 * requests for plain HTTP) on each job's own socket, beside the model-API proxy. A connection
 * goes out only when
 * - egress is on (the daemon was started for the `proxy` mode),
 * - it carries the job's own capability token (`Proxy-Authorization: Basic`, the password),
 * - its host (and port) is on `egressAllowlist`, and
 * - the name resolves, here on the host, to an address that is not loopback, link-local or
 *   private — unless that address is listed itself. The connection goes to the address checked
 *   (no second lookup a rebinding DNS could answer differently).
 * Each connection is logged (job, host, port, bytes each way, allowed or refused and why); never
 * a header or a body. A refusal is an answer, never an exception: the daemon goes on serving.
 */
export interface EgressJob {
  readonly jobId: string;
  /** Spends one request of the job's rate (the same budget as its API requests). */
  admitRequest(): boolean;
}

export interface EgressOptions {
  /** null: egress is off (the network mode is not `proxy`). */
  allowlist: readonly AllowlistEntry[] | null;
  lookupToken: (token: string) => string | null;
  logger: Logger;
  /** Name → addresses; default the host's resolver (dns.lookup, so /etc/hosts counts). Tests inject one. */
  resolve?: (host: string) => Promise<string[]>;
  onActivity?: (jobId: string) => void;
  /** A tunnel or exchange with no bytes either way for this long is closed (default 5 min). */
  idleMs?: number;
  connectTimeoutMs?: number;
}

export interface EgressHandler {
  connect(req: IncomingMessage, socket: Duplex, head: Buffer, job: EgressJob): void;
  request(req: IncomingMessage, res: ServerResponse, job: EgressJob): void;
}

/** The config key a refusal names, so the user knows what to change. */
export const ALLOWLIST_KEY = 'egressAllowlist';

type Decision =
  { allowed: true; address: string } | { allowed: false; status: number; reason: string; message: string };

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const defaultResolve = async (host: string): Promise<string[]> =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** The capability token in `Proxy-Authorization: Basic base64(user:token)`, or null. */
export function proxyToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  const token = decoded.slice(colon + 1);
  try {
    return decodeURIComponent(token);
  } catch {
    return token;
  }
}

export function createEgress(options: EgressOptions): EgressHandler {
  const { logger } = options;
  const resolve = options.resolve ?? defaultResolve;
  const idleMs = options.idleMs ?? 5 * 60_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 15_000;

  const refused = (
    jobId: string,
    target: EgressTarget | null,
    method: string,
    d: Decision & { allowed: false },
  ) => {
    logger.info(
      {
        jobId,
        method,
        host: target?.host,
        port: target?.port,
        allowed: false,
        status: d.status,
        reason: d.reason,
      },
      'egress refused',
    );
  };

  async function decide(
    req: IncomingMessage,
    target: EgressTarget | null,
    job: EgressJob,
  ): Promise<Decision> {
    if (options.allowlist === null)
      return {
        allowed: false,
        status: 403,
        reason: 'egress-off',
        message: `claude-pod: egress is off for this job (the network mode is not "proxy")`,
      };
    const token = proxyToken(req.headers['proxy-authorization']);
    if (token === null || options.lookupToken(token) !== job.jobId)
      return {
        allowed: false,
        status: 407,
        reason: token === null ? 'no-token' : 'bad-token',
        message: "claude-pod: egress needs this job's capability token as the proxy password",
      };
    if (target === null)
      return {
        allowed: false,
        status: 400,
        reason: 'bad-target',
        message: 'claude-pod: not a host:port target',
      };
    const { host, port } = target;
    if (!matchHost(options.allowlist, host, port))
      return {
        allowed: false,
        status: 403,
        reason: 'not-allowlisted',
        message:
          `claude-pod: egress to ${host}:${port} refused: "${host}" is not in ${ALLOWLIST_KEY}. ` +
          `To allow it, add "${host}" (or "${host}:${port}") to ${ALLOWLIST_KEY} in the claude-pod config.\n`,
      };
    let addresses: string[];
    try {
      addresses = isIP(host) !== 0 ? [host] : await resolve(host);
    } catch (error) {
      return {
        allowed: false,
        status: 502,
        reason: 'resolve-failed',
        message: `claude-pod: cannot resolve ${host} (${(error as NodeJS.ErrnoException).code ?? 'error'})\n`,
      };
    }
    const usable = addresses.filter(
      (a) => !isInternalAddress(a) || addressListed(options.allowlist ?? [], a, port),
    );
    const first = usable[0];
    if (first !== undefined) return { allowed: true, address: first };
    const internal = addresses[0] ?? '?';
    return {
      allowed: false,
      status: 403,
      reason: 'internal-address',
      message:
        `claude-pod: egress to ${host}:${port} refused: it resolves to ${internal}, a loopback, link-local or ` +
        `private address. Only an ${ALLOWLIST_KEY} entry naming that address itself ("${internal.includes(':') ? `[${internal}]` : internal}:${port}") allows it.\n`,
    };
  }

  function rawRefusal(socket: Duplex, status: number, message: string): void {
    const text = status === 407 ? 'Proxy Authentication Required' : (http.STATUS_CODES[status] ?? 'Refused');
    const body = Buffer.from(message.endsWith('\n') ? message : `${message}\n`);
    const extra = status === 407 ? 'Proxy-Authenticate: Basic realm="claude-pod"\r\n' : '';
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n` +
        `${extra}x-claude-pod-egress: refused\r\nconnection: close\r\n\r\n${body.toString('utf8')}`,
    );
  }

  function connect(req: IncomingMessage, socket: Duplex, head: Buffer, job: EgressJob): void {
    socket.on('error', () => undefined);
    if (!job.admitRequest()) {
      rawRefusal(socket, 429, 'claude-pod: too many requests from this job');
      return;
    }
    const target = parseAuthority(req.url);
    void decide(req, target, job)
      .then((d) => {
        if (!d.allowed) {
          refused(job.jobId, target, 'CONNECT', d);
          rawRefusal(socket, d.status, d.message);
          return;
        }
        tunnel(socket, head, job, target as EgressTarget, d.address);
      })
      .catch((error: unknown) => {
        logger.error({ jobId: job.jobId, err: error }, 'egress failed');
        socket.destroy();
      });
  }

  function tunnel(client: Duplex, head: Buffer, job: EgressJob, target: EgressTarget, address: string): void {
    const started = Date.now();
    let up = head.length;
    let down = 0;
    let connected = false;
    const remote = net.connect({ host: address, port: target.port });
    remote.setTimeout(connectTimeoutMs);
    const done = (outcome: string): void => {
      logger.info(
        {
          jobId: job.jobId,
          method: 'CONNECT',
          host: target.host,
          port: target.port,
          address,
          allowed: true,
          bytesUp: up,
          bytesDown: down,
          ms: Date.now() - started,
          outcome,
        },
        'egress',
      );
    };
    remote.once('connect', () => {
      connected = true;
      remote.setTimeout(idleMs);
      if (client.destroyed) {
        remote.destroy();
        return;
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) remote.write(head);
      client.on('data', (c: Buffer) => {
        up += c.length;
        options.onActivity?.(job.jobId);
      });
      remote.on('data', (c: Buffer) => {
        down += c.length;
        options.onActivity?.(job.jobId);
      });
      client.pipe(remote);
      remote.pipe(client);
    });
    remote.on('timeout', () => remote.destroy(new Error(connected ? 'idle' : 'connect timeout')));
    remote.on('error', (error) => {
      if (!connected) {
        rawRefusal(
          client,
          502,
          `claude-pod: cannot connect to ${target.host}:${target.port} (${error.message})`,
        );
        done(`connect-failed: ${error.message}`);
        return;
      }
      client.destroy();
    });
    remote.on('close', () => {
      if (connected) {
        client.end();
        done('closed');
      }
    });
    client.on('close', () => remote.destroy());
  }

  function request(req: IncomingMessage, res: ServerResponse, job: EgressJob): void {
    const target = parseAbsoluteUrl(req.url);
    const method = req.method ?? 'GET';
    void decide(req, target, job)
      .then((d) => {
        if (!d.allowed) {
          refused(job.jobId, target, method, d);
          res.shouldKeepAlive = false;
          const headers: Record<string, string> = {
            'content-type': 'text/plain; charset=utf-8',
            'x-claude-pod-egress': 'refused',
            connection: 'close',
          };
          if (d.status === 407) headers['proxy-authenticate'] = 'Basic realm="claude-pod"';
          res.writeHead(d.status, headers);
          res.end(d.message.endsWith('\n') ? d.message : `${d.message}\n`);
          req.resume();
          return;
        }
        forward(req, res, job, target as EgressTarget & { path: string }, d.address);
      })
      .catch((error: unknown) => {
        logger.error({ jobId: job.jobId, err: error }, 'egress failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    job: EgressJob,
    target: EgressTarget & { path: string },
    address: string,
  ): void {
    const started = Date.now();
    let up = 0;
    let down = 0;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers[name] = value;
    }
    if (req.headers['transfer-encoding']) headers['transfer-encoding'] = 'chunked';
    // RFC 9112 §3.2.2: a proxy replaces Host with the authority of the absolute-form target.
    const hostText = target.host.includes(':') ? `[${target.host}]` : target.host;
    headers.host = target.port === 80 ? hostText : `${hostText}:${target.port}`;
    const outgoing = http.request({
      host: address,
      port: target.port,
      method: req.method,
      path: target.path,
      headers,
      setHost: false,
      agent: false,
      timeout: idleMs,
    });
    const log = (status: number | null, outcome: string): void => {
      logger.info(
        {
          jobId: job.jobId,
          method: req.method,
          host: target.host,
          port: target.port,
          address,
          allowed: true,
          status,
          bytesUp: up,
          bytesDown: down,
          ms: Date.now() - started,
          outcome,
        },
        'egress',
      );
    };
    outgoing.on('timeout', () => outgoing.destroy(new Error('idle')));
    outgoing.on('error', (error) => {
      log(null, `failed: ${error.message}`);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end(`claude-pod: ${target.host}:${target.port} could not be reached (${error.message})\n`);
      } else res.destroy();
    });
    outgoing.on('response', (response) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name)) continue;
        out[name] = value;
      }
      res.writeHead(response.statusCode ?? 502, response.statusMessage, out);
      response.on('data', (c: Buffer) => {
        down += c.length;
        options.onActivity?.(job.jobId);
      });
      response.pipe(res);
      response.on('end', () => log(response.statusCode ?? null, 'done'));
      response.on('error', () => res.destroy());
      response.on('aborted', () => res.destroy());
    });
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.on('data', (c: Buffer) => {
      up += c.length;
    });
    req.pipe(outgoing);
  }

  return { connect, request };
}
