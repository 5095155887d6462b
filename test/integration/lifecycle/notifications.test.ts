import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatDirective } from '../../../src/mock-api/index.js';
import { requireRuntime, skipNote } from '../helpers/runtime.js';
import { startStack } from '../helpers/stack.js';
import { eventually } from '../helpers/wait.js';

const env = await requireRuntime();

describe.skipIf(!env.available)(`notifications (real runtime and CLI)${skipNote(env)}`, () => {
  it('POSTs one authenticated notification per finished job, even when the receiver is down at first', async () => {
    const received: Array<{ headers: IncomingMessage['headers']; body: Record<string, unknown> }> = [];
    let answered = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        answered++;
        // Then up but failing once with 503: still retried.
        if (answered === 1) {
          res.writeHead(503).end();
          return;
        }
        received.push({ headers: req.headers, body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    // Down for the first two tries: the connection is dropped before any HTTP answer.
    let dropped = 0;
    server.prependListener('connection', (socket) => {
      if (dropped < 2) {
        dropped++;
        socket.destroy();
      }
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const stack = await startStack({
      notifyWebhookUrl: `http://127.0.0.1:${port}/hooks/agent`,
      hooksToken: 'hooks-secret-token',
    });
    try {
      const { jobId, sessionId } = await stack.supervisor.start({
        prompt: `notify ${formatDirective('echo', { text: 'All done here.' })}`,
      });
      await stack.waitForEnd(jobId);
      await eventually('the notification', () => (received.length > 0 ? true : undefined), 60_000);
      expect(received).toHaveLength(1);
      const [n] = received;
      expect(n!.headers.authorization).toBe('Bearer hooks-secret-token');
      expect(n!.headers['idempotency-key']).toContain(jobId);
      expect(n!.body.name).toBe('claude-code');
      expect(String(n!.body.message)).toContain(jobId);
      expect(String(n!.body.message)).toContain(sessionId);
      expect(String(n!.body.message)).toContain('completed');
      expect(String(n!.body.message)).toContain('claude_code_output');
      expect(dropped).toBe(2);
      expect(answered).toBe(2);
    } finally {
      await stack.dispose();
      server.close();
    }
  });
});
