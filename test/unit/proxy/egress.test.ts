import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiProxyHandle, JobGrant } from '../../../src/proxy/client.js';
import { isInternalAddress } from '../../../src/proxy/egress/address-policy.js';
import { createEgress } from '../../../src/proxy/egress/egress-proxy.js';
import { parseAllowlist, parseAllowlistEntry } from '../../../src/shared/egress-allowlist.js';
import { postMessages, send } from './fixtures/http.js';
import { proxyStack } from './fixtures/stack.js';

const basic = (token: string) => `Basic ${Buffer.from(`claude-pod:${token}`).toString('base64')}`;

/** A CONNECT over the job's socket (or a TCP port): the status line, then the socket if it is open. */
function connectVia(
  where: { socketPath: string } | { port: number },
  authority: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      ...('socketPath' in where ? { socketPath: where.socketPath } : { host: '127.0.0.1', port: where.port }),
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
    });
    req.on('connect', (res, socket, head) => {
      if (res.statusCode === 200) {
        resolve({ status: 200, body: '', socket });
        return;
      }
      let body = head.toString('utf8');
      socket.on('data', (c: Buffer) => (body += c.toString('utf8')));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, body, socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An origin on loopback: answers with what it saw (minus a body), and an echo port for tunnels. */
async function startOrigin() {
  const seen: IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`origin ok ${req.method} ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    echoPort: (echo.address() as AddressInfo).port,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await new Promise((r) => echo.close(r));
    },
  };
}

describe('egress allowlist entries', () => {
  it('parses names, *.suffixes, addresses and ports; refuses nonsense with a reason', () => {
    expect(parseAllowlistEntry('Registry.NPMjs.org')).toMatchObject({
      kind: 'name',
      value: 'registry.npmjs.org',
      port: null,
    });
    expect(parseAllowlistEntry('*.github.com:443')).toMatchObject({
      kind: 'suffix',
      value: 'github.com',
      port: 443,
    });
    expect(parseAllowlistEntry('127.0.0.1:8080')).toMatchObject({
      kind: 'address',
      value: '127.0.0.1',
      port: 8080,
    });
    expect(parseAllowlistEntry('[::1]:80')).toMatchObject({ kind: 'address', value: '::1', port: 80 });
    for (const bad of ['', 'http://x.com', 'a b', '*.com', 'x.com:99999', 'x.com:abc', '[zz]'])
      expect(typeof parseAllowlistEntry(bad)).toBe('string');
  });

  it('treats loopback, link-local, private and mapped forms as internal', () => {
    for (const a of [
      '127.0.0.1',
      '127.9.9.9',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::5',
      '::ffff:127.0.0.1',
    ])
      expect(isInternalAddress(a), a).toBe(true);
    for (const a of ['93.184.216.34', '140.82.112.3', '2606:4700::6810:84e5'])
      expect(isInternalAddress(a), a).toBe(false);
  });
});

describe('egress proxy on the job socket (real daemon)', () => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let proxy: ApiProxyHandle;
  let job: JobGrant;
  let other: JobGrant;
  let auth: Record<string, string>;

  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(() => origin.close());
  const stack = proxyStack({
    more: () => ({
      proxyOptions: {
        egress: {
          allowlist: [
            `127.0.0.1:${origin.port}`,
            `127.0.0.1:${origin.echoPort}`,
            'localhost',
            '*.allowed.test',
          ],
        },
      },
    }),
    grant: ['job-egress', 'job-other'],
  });
  beforeAll(() => {
    proxy = stack.proxy;
    [job, other] = stack.jobs as [JobGrant, JobGrant];
    auth = { 'proxy-authorization': basic(job.token) };
  });

  /** After every refusal: the daemon still serves the model API and other jobs. */
  const stillServes = async () => {
    const reply = await postMessages(other, other.token);
    expect(reply.status).toBe(200);
    expect((await proxy.health())?.serving).toBe(true);
  };

  it('forwards plain HTTP to an allowlisted address, without the proxy credential', async () => {
    const reply = await send(job, {
      method: 'GET',
      path: `http://127.0.0.1:${origin.port}/pkg?x=1`,
      headers: auth,
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('origin ok GET /pkg?x=1');
    expect(origin.seen.at(-1)?.['proxy-authorization']).toBeUndefined();
    expect(origin.seen.at(-1)?.host).toBe(`127.0.0.1:${origin.port}`);
  });

  it('opens a CONNECT tunnel to an allowlisted address and carries bytes both ways', async () => {
    const { status, socket } = await connectVia(job, `127.0.0.1:${origin.echoPort}`, auth);
    expect(status).toBe(200);
    const echoed = await new Promise<string>((resolve) => {
      socket.once('data', (c: Buffer) => resolve(c.toString('utf8')));
      socket.write('ping through the tunnel');
    });
    expect(echoed).toBe('ping through the tunnel');
    socket.destroy();
  });

  it('refuses a host not on the list with 403 naming the host and the config key', async () => {
    const viaConnect = await connectVia(job, 'evil.example.com:443', auth);
    expect(viaConnect.status).toBe(403);
    expect(viaConnect.body).toContain('evil.example.com');
    expect(viaConnect.body).toContain('egressAllowlist');
    const viaHttp = await send(job, { method: 'GET', path: 'http://evil.example.com/x', headers: auth });
    expect(viaHttp.status).toBe(403);
    expect(viaHttp.body).toContain('"evil.example.com" is not in egressAllowlist');
    // Same address, port not listed.
    expect(
      (
        await connectVia(
          job,
          `127.0.0.1:${origin.port + 1 === origin.echoPort ? origin.port + 2 : origin.port + 1}`,
          auth,
        )
      ).status,
    ).toBe(403);
    await stillServes();
  });

  it("requires the job's own capability token", async () => {
    expect((await connectVia(job, `127.0.0.1:${origin.echoPort}`, {})).status).toBe(407);
    expect(
      (await connectVia(job, `127.0.0.1:${origin.echoPort}`, { 'proxy-authorization': basic(other.token) }))
        .status,
    ).toBe(407);
    expect(
      (await send(job, { method: 'GET', path: `http://127.0.0.1:${origin.port}/`, headers: {} })).status,
    ).toBe(407);
    await stillServes();
  });

  it('refuses an allowlisted name that resolves to loopback (no SSRF into the host)', async () => {
    const reply = await connectVia(job, `localhost:${origin.port + 7}`, auth);
    expect(reply.status).toBe(403);
    expect(reply.body).toMatch(/resolves to (127\.0\.0\.1|::1), a loopback, link-local or private address/);
    await stillServes();
  });

  it('survives malformed CONNECT targets and requests', async () => {
    expect((await connectVia(job, 'no-port-here', auth)).status).toBe(400);
    expect((await connectVia(job, '[::1', auth)).status).toBe(400);
    expect(
      (await send(job, { method: 'GET', path: 'http://user:pw@127.0.0.1/', headers: auth })).status,
    ).toBe(400);
    expect((await send(job, { method: 'GET', path: 'ftp://127.0.0.1/', headers: auth })).status).toBe(400);
    await stillServes();
  });

  it('logs each connection (job, host, port, bytes, allowed) and never a header or token', async () => {
    const log = await readFile(proxy.paths.logFile, 'utf8');
    const lines = log.split('\n').filter((l) => l.includes('"egress'));
    expect(
      lines.some(
        (l) =>
          l.includes('"allowed":true') && l.includes('"bytesDown"') && l.includes('"jobId":"job-egress"'),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.includes('"allowed":false') && l.includes('"host":"evil.example.com"'))).toBe(
      true,
    );
    expect(log).not.toContain(job.token);
    expect(log).not.toContain(other.token);
    expect(log).not.toContain(basic(job.token).slice(6));
  });
});

describe('egress off (network mode other than proxy)', () => {
  const stack = proxyStack();

  it('refuses CONNECT and absolute URLs even with a valid token', async () => {
    const { proxy, upstream } = stack;
    const job = await proxy.grant('job-none');
    const auth = { 'proxy-authorization': basic(job.token) };
    const reply = await connectVia(job, `127.0.0.1:${upstream.port}`, auth);
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('egress is off');
    expect(
      (await send(job, { method: 'GET', path: `http://127.0.0.1:${upstream.port}/`, headers: auth })).status,
    ).toBe(403);
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('egress name resolution (resolver hook)', () => {
  it('resolves on the host, connects to the checked address, refuses internal results unless listed', async () => {
    const origin = await startOrigin();
    const resolved: string[] = [];
    const resolve = (host: string) => {
      resolved.push(host);
      if (host === 'pkg.allowed.test') return Promise.resolve(['127.0.0.1']);
      if (host === 'metadata.allowed.test') return Promise.resolve(['169.254.169.254']);
      return Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }));
    };
    const make = (allowlist: string[]) =>
      createEgress({
        allowlist: parseAllowlist(allowlist),
        lookupToken: (t) => (t === 'tok' ? 'job-1' : null),
        logger: pino({ level: 'silent' }),
        resolve,
      });
    const job = { jobId: 'job-1', admitRequest: () => true };
    const serve = (egress: ReturnType<typeof make>) => {
      const server = http.createServer((req, res) => egress.request(req, res, job));
      server.on('connect', (req, socket, head) => egress.connect(req, socket, head, job));
      return new Promise<{ port: number; close: () => void }>((r) =>
        server.listen(0, '127.0.0.1', () =>
          r({ port: (server.address() as AddressInfo).port, close: () => server.close() }),
        ),
      );
    };
    const auth = { 'proxy-authorization': basic('tok') };
    try {
      const byName = await serve(make(['*.allowed.test']));
      const refused = await connectVia(byName, `pkg.allowed.test:${origin.echoPort}`, auth);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain(`"127.0.0.1:${origin.echoPort}"`);
      expect((await connectVia(byName, 'metadata.allowed.test:80', auth)).status).toBe(403);
      expect((await connectVia(byName, 'nx.allowed.test:80', auth)).status).toBe(502);
      byName.close();

      const byAddress = await serve(make(['*.allowed.test', `127.0.0.1:${origin.echoPort}`]));
      const ok = await connectVia(byAddress, `pkg.allowed.test:${origin.echoPort}`, auth);
      expect(ok.status).toBe(200);
      ok.socket.destroy();
      byAddress.close();
      expect(resolved).toContain('pkg.allowed.test');
    } finally {
      await origin.close();
    }
  });
});
