import http from 'node:http';
import { z } from 'zod';

/**
 * The daemon's control socket (`<socketRoot>/control.sock`, 0600 in a 0700 directory of the
 * supervisor's user): health and sync. No container mounts it, so however a job floods its own
 * socket, this one's accept queue and connections are untouched.
 *   GET  /health  → ProxyHealth
 *   POST /sync    → reload the tokens file, create/close job sockets to match → SyncReply
 */
export const proxyHealthSchema = z.object({
  pid: z.number().int().positive(),
  protocol: z.number(),
  fingerprint: z.string(),
  startedAt: z.number(),
  /** False once a successor has taken over (the daemon then drains). */
  serving: z.boolean(),
  draining: z.boolean(),
  jobs: z.number(),
  connections: z.number(),
  fdLimit: z.number().nullable(),
  connectionBudget: z.number(),
});
export type ProxyHealth = z.infer<typeof proxyHealthSchema>;

export const syncReplySchema = z.object({
  pid: z.number().int().positive(),
  fingerprint: z.string(),
  /** Jobs whose socket is in place (listening, or paused at its caps). */
  jobs: z.array(z.string()),
});
export type SyncReply = z.infer<typeof syncReplySchema>;

export interface ControlHandlers {
  health(): ProxyHealth;
  sync(): Promise<SyncReply | null>;
}

export function createControlServer(handlers: ControlHandlers): http.Server {
  const server = http.createServer({ headersTimeout: 5000, requestTimeout: 10_000 }, (req, res) => {
    req.resume();
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (req.method === 'GET' && req.url === '/health') {
      reply(200, handlers.health());
      return;
    }
    if (req.method === 'POST' && req.url === '/sync') {
      handlers.sync().then(
        (result) => (result ? reply(200, result) : reply(503, { error: 'draining' })),
        (error: unknown) => reply(500, { error: (error as Error).message }),
      );
      return;
    }
    reply(404, { error: 'not found' });
  });
  server.keepAliveTimeout = 1000;
  return server;
}

function request(socketPath: string, method: string, path: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, method, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => resolve(null));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(null);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** The daemon's health, or null when nothing (or something else) answers within `timeoutMs`. */
export async function fetchHealth(socketPath: string, timeoutMs: number): Promise<ProxyHealth | null> {
  const parsed = proxyHealthSchema.safeParse(await request(socketPath, 'GET', '/health', timeoutMs));
  return parsed.success ? parsed.data : null;
}

/** Asks the daemon to apply the tokens file now; null when it does not answer (or drains). */
export async function requestSync(socketPath: string, timeoutMs: number): Promise<SyncReply | null> {
  const parsed = syncReplySchema.safeParse(await request(socketPath, 'POST', '/sync', timeoutMs));
  return parsed.success ? parsed.data : null;
}
