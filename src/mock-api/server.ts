/**
 * The mock Messages API server (node:http): routes, request recording, and the scenario choice
 * per request. Listens on loopback TCP or a unix socket.
 */
import { EventEmitter } from 'node:events';
import { lstat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chooseReply, type ScenarioSelection } from './choose-reply.js';
import { errorBody, estimateTokens } from './encode.js';
import { digest, replyIds } from './ids.js';
import { sendError, sendJson, sendMessage } from './respond.js';
import { DEFAULT_SCENARIO } from './scenarios.js';
import { messagesRequestSchema, type RecordedRequest, type Scenario } from './types.js';

export interface MockApiOptions {
  /** Default 127.0.0.1. Ignored with `socketPath`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Listen on this unix socket instead of TCP (a stale socket file there is replaced). */
  socketPath?: string;
  /** Default scenario when a prompt carries no directive: a name or a function. Default `echo`. */
  scenario?: string | Scenario;
  /** Parameters for the default scenario. */
  params?: Record<string, string>;
  /** Extra named scenarios, selectable by name and by directive; they shadow built-ins. */
  scenarios?: Record<string, Scenario>;
  /** After this many assistant tool-call turns, any further tool call is replaced by text. Default 8. */
  maxToolTurns?: number;
  /**
   * Checks the credential of every `/v1/…` request (the `x-api-key`, or the `Authorization:
   * Bearer` token; null when neither): false answers 401 `authentication_error`, as the real API
   * does for an expired OAuth token. Absent: every request is accepted.
   */
  acceptCredential?: (credential: string | null) => boolean;
}

export interface MockApiEvents {
  request: [RecordedRequest];
}

export interface MockApi extends EventEmitter<MockApiEvents> {
  /** `http://127.0.0.1:PORT`, or null on a unix socket. */
  readonly url: string | null;
  readonly socketPath: string | null;
  /** Every request in arrival order (HEAD/GET probes and 404s included). */
  readonly requests: readonly RecordedRequest[];
  /** How many requests `acceptCredential` refused (401). */
  readonly rejectedCredentials: number;
  /** Only `POST /v1/messages` requests. */
  messageRequests(): RecordedRequest[];
  /** The first recorded request (past or future) matching `predicate`; rejects after `timeoutMs`. */
  waitForRequest(predicate?: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Changes the default scenario for later requests. */
  setScenario(scenario: string | Scenario, params?: Record<string, string>): void;
  /** Ends every open connection (stalled streams included) and stops listening. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MESSAGES_PATH = '/v1/messages';
const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => null);
  if (stat?.isSocket()) await unlink(path);
}

class MockApiServer extends EventEmitter<MockApiEvents> implements MockApi {
  readonly requests: RecordedRequest[] = [];
  url: string | null = null;
  socketPath: string | null = null;
  private selection: ScenarioSelection;
  private readonly custom: Record<string, Scenario>;
  private readonly maxToolTurns: number;
  private readonly acceptCredential: ((credential: string | null) => boolean) | null;
  /** Requests refused with 401 by `acceptCredential`. */
  rejectedCredentials = 0;
  private readonly attempts = new Map<string, number>();
  private readonly closing = new AbortController();
  private readonly server = createServer((req, res) => void this.handle(req, res));

  constructor(options: MockApiOptions) {
    super();
    this.selection = { scenario: options.scenario ?? DEFAULT_SCENARIO, params: options.params ?? {} };
    this.custom = options.scenarios ?? {};
    this.maxToolTurns = options.maxToolTurns ?? 8;
    this.acceptCredential = options.acceptCredential ?? null;
  }

  private credentialOf(req: IncomingMessage): string | null {
    const key = req.headers['x-api-key'];
    if (typeof key === 'string' && key) return key;
    const auth = req.headers.authorization;
    return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : null;
  }

  async listen(options: MockApiOptions): Promise<void> {
    if (options.socketPath !== undefined) await removeStaleSocket(options.socketPath);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      const done = (): void => {
        this.server.off('error', reject);
        resolve();
      };
      if (options.socketPath !== undefined) this.server.listen(options.socketPath, done);
      else this.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', done);
    });
    if (options.socketPath !== undefined) {
      this.socketPath = options.socketPath;
    } else {
      const { address, family, port } = this.server.address() as AddressInfo;
      this.url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
    }
  }

  messageRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === MESSAGES_PATH);
  }

  waitForRequest(
    predicate: (r: RecordedRequest) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<RecordedRequest> {
    const seen = this.requests.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onRequest = (r: RecordedRequest): void => {
        if (!predicate(r)) return;
        clearTimeout(timer);
        this.off('request', onRequest);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.off('request', onRequest);
        reject(new Error(`mock API: no matching request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('request', onRequest);
    });
  }

  setScenario(scenario: string | Scenario, params: Record<string, string> = {}): void {
    this.selection = { scenario, params };
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private record(req: IncomingMessage, body: unknown, scenario: string | null): RecordedRequest {
    const url = req.url ?? '/';
    const recorded: RecordedRequest = {
      seq: this.requests.length + 1,
      method: req.method ?? 'GET',
      url,
      path: new URL(url, 'http://mock').pathname,
      headers: req.headers,
      body,
      scenario,
      receivedAt: Date.now(),
    };
    this.requests.push(recorded);
    this.emit('request', recorded);
    return recorded;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://mock').pathname;
      if (
        this.acceptCredential &&
        path.startsWith('/v1/') &&
        !this.acceptCredential(this.credentialOf(req))
      ) {
        this.rejectedCredentials += 1;
        this.record(req, body, null);
        sendJson(res, 401, errorBody(401, 'authentication_error', 'OAuth token has expired.'));
        return;
      }
      if (req.method === 'POST' && path === MESSAGES_PATH) return await this.handleMessages(req, res, body);
      this.record(req, body, null);
      if ((req.method === 'GET' || req.method === 'HEAD') && path === '/') {
        sendJson(res, 200, { ok: true, service: 'claude-pod mock Messages API' });
      } else if (req.method === 'POST' && path === COUNT_TOKENS_PATH) {
        sendJson(res, 200, { input_tokens: estimateTokens(body) });
      } else {
        sendJson(
          res,
          404,
          errorBody(404, 'not_found_error', `${req.method ?? ''} ${path} is not served by the mock`),
        );
      }
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, errorBody(500, 'api_error', String(error)));
      else res.destroy();
    }
  }

  private async handleMessages(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const parsed = messagesRequestSchema.safeParse(body);
    if (!parsed.success) {
      this.record(req, body, null);
      sendJson(
        res,
        400,
        errorBody(400, 'invalid_request_error', `mock: invalid Messages request: ${parsed.error.message}`),
      );
      return;
    }
    const request = parsed.data;
    const seed = digest({ model: request.model, messages: request.messages });
    const attempt = this.attempts.get(seed) ?? 0;
    this.attempts.set(seed, attempt + 1);
    const { name, reply } = chooseReply(request, {
      default: this.selection,
      custom: this.custom,
      maxToolTurns: this.maxToolTurns,
      attempt,
    });
    this.record(req, body, name);
    const ids = replyIds(seed);
    if (reply.kind === 'error') {
      sendError(res, reply, ids.requestId);
      return;
    }
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const signal = AbortSignal.any([this.closing.signal, gone.signal]);
    const input = {
      reply,
      ids,
      model: request.model,
      inputTokens: estimateTokens([request.system, request.messages]),
    };
    await sendMessage(res, input, request.stream === true, signal);
  }
}

export async function createMockApi(options: MockApiOptions = {}): Promise<MockApi> {
  const api = new MockApiServer(options);
  await api.listen(options);
  return api;
}
