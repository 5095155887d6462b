import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelayedAttempt {
  at: number;
  idempotencyKey: string;
  /** What the relay answered: 503 while refusing, else the gateway's status. */
  status: number;
  mode: 'refuse' | 'forward';
}

/**
 * A loopback relay in front of the gateway's `/hooks/agent`, for the plugin's `notifyWebhookUrl`:
 * it forwards each notification (headers and body as sent) while `forward`ing, and answers 503
 * while `refuse`ing, so a test can make a notification undeliverable for a while and see every
 * attempt. It never changes a request: the gateway still checks the hooks token.
 */
export class HookRelay {
  readonly attempts: RelayedAttempt[] = [];
  private mode: 'refuse' | 'forward' = 'forward';
  private server: Server | null = null;
  private port = 0;

  constructor(private readonly gatewayPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/agent`;
  }

  refuse(): void {
    this.mode = 'refuse';
  }

  forward(): void {
    this.mode = 'forward';
  }

  /** Attempts whose Idempotency-Key names `jobId`. */
  attemptsFor(jobId: string): RelayedAttempt[] {
    return this.attempts.filter((a) => a.idempotencyKey.includes(jobId));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const attempt: RelayedAttempt = {
          at: Date.now(),
          idempotencyKey: String(req.headers['idempotency-key'] ?? ''),
          status: 503,
          mode: this.mode,
        };
        this.attempts.push(attempt);
        if (this.mode === 'refuse') {
          res.writeHead(503).end();
          return;
        }
        const upstream = request(
          {
            host: '127.0.0.1',
            port: this.gatewayPort,
            method: req.method,
            path: '/hooks/agent',
            headers: pick(req.headers, [
              'authorization',
              'content-type',
              'idempotency-key',
              'x-openclaw-token',
            ]),
          },
          (answer) => {
            attempt.status = answer.statusCode ?? 502;
            res.writeHead(attempt.status, pick(answer.headers, ['content-type']));
            answer.pipe(res);
          },
        );
        upstream.on('error', () => {
          attempt.status = 502;
          res.writeHead(502).end();
        });
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function pick(headers: IncomingHttpHeaders, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
