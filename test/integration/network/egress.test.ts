import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobLikeSpec } from '../../../src/doctor/job-like-spec.js';
import { ensureApiProxy, type ApiProxyHandle, type JobGrant } from '../../../src/proxy/client.js';
import type { ContainerSpec } from '../../../src/runtime/engine.js';
import { parseConfig } from '../../../src/shared/config.js';
import { proxyOptionsFor } from '../../../src/supervisor/proxy-options-for.js';
import { formatDirective } from '../../../src/mock-api/index.js';
import { startLoopbackOrigins } from '../../fixtures/loopback-origins.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startUpstream } from '../../unit/proxy/fixtures/upstream.js';
import {
  mustHave,
  reapByLabel,
  requireRuntime,
  skipNote,
  TEST_RUN_LABEL,
  testRunId,
  testRuntimeConfig,
} from '../helpers/runtime.js';

const env = await requireRuntime();

function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '10.0.2.2';
}

/** The lines of `out` that start with `KEY:`, without the key. */
function field(out: string, key: string): string {
  return out
    .split('\n')
    .filter((l) => l.startsWith(`${key}:`))
    .map((l) => l.slice(key.length + 1))
    .join('\n');
}

describe.skipIf(!env.available)(
  `network mode "proxy": egress allowlist from a real job container${skipNote(env)}`,
  () => {
    const scratch: string[] = [];
    let origins: Awaited<ReturnType<typeof startLoopbackOrigins>>;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    let onLoopback: Server;
    let loopbackPort: number;
    let proxy: ApiProxyHandle;
    let job: JobGrant;
    let config: ReturnType<typeof parseConfig>;

    beforeAll(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cp-egress-it-'));
      scratch.push(dir);
      origins = await startLoopbackOrigins(dir);
      upstream = await startUpstream();
      // A service on the host's 127.0.0.1: reachable only through an entry naming that address.
      onLoopback = createServer((_req, res) => res.end('host loopback service\n'));
      await new Promise<void>((r) => onLoopback.listen(0, '127.0.0.1', r));
      loopbackPort = (onLoopback.address() as AddressInfo).port;
      const rt = mustHave(env);
      config = parseConfig({
        ...testRuntimeConfig(),
        image: rt.image,
        tmpfsSize: '256m',
        memory: '1g',
        network: 'proxy',
        egressAllowlist: [
          `${origins.host}:${origins.httpPort}`,
          `${origins.host}:${origins.httpsPort}`,
          'localhost',
          `127.0.0.1:${loopbackPort}`,
        ],
      });
      proxy = await ensureApiProxy({
        stateDir: join(dir, 'state'),
        upstream: upstream.url,
        credential: { kind: 'api-key', value: 'sk-ant-egress-it-key' },
        proxyOptions: proxyOptionsFor(config),
        ...(process.getuid?.() === 0 && !rt.runtime.rootless
          ? { socketOwner: { uid: 1000, gid: 1000 } }
          : {}),
      });
      job = await proxy.grant('job-egress-it');
    });

    afterAll(async () => {
      if (env.available) await reapByLabel(env.engine, `${TEST_RUN_LABEL}=${testRunId}`);
      await proxy?.stop().catch(() => undefined);
      if (proxy) await rm(proxy.paths.socketRoot, { recursive: true, force: true });
      await origins?.close();
      await upstream?.close();
      onLoopback?.close();
      await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
    });

    async function container(name: string, script: string): Promise<ContainerSpec> {
      const rt = mustHave(env);
      const dir = await mkdtemp(join(tmpdir(), `cp-egress-${name}-`));
      scratch.push(dir);
      return jobLikeSpec({
        config,
        runtime: rt.spec,
        name: `claude-pod-test-egress-${name}-${testRunId}`,
        command: ['sh', '-c', script],
        labels: { [TEST_RUN_LABEL]: testRunId },
        dir,
        api: { socketDir: job.socketDir, token: job.token, kind: 'api-key' },
      });
    }

    async function run(spec: ContainerSpec): Promise<{ out: string; exitCode: number | null }> {
      const stream = mustHave(env).engine.run(spec);
      let out = '';
      stream.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      const end = await stream.done;
      return { out, exitCode: end.exitCode };
    }

    it('curl, git and npm reach allowlisted loopback origins (HTTP and HTTPS via CONNECT); others are refused', async () => {
      const o = `${origins.host}`;
      const h = origins.httpPort;
      const s = origins.httpsPort;
      const script = [
        'cd /tmp',
        `echo "HTTP:$(curl -sS http://${o}:${h}/hello 2>&1)"`,
        `echo "HTTPS:$(curl -sSk https://${o}:${s}/hello 2>&1)"`,
        // Not on the list: plain HTTP shows the proxy's 403 body; HTTPS fails at the CONNECT.
        `echo "DENIED_HTTP:$(curl -sS -w '\\nDENIED_HTTP_CODE:%{http_code}' http://not-listed.example.com/x 2>&1)"`,
        `curl -sS https://not-listed.example.com/ >/dev/null 2>/tmp/e; echo "DENIED_HTTPS:$? $(cat /tmp/e)"`,
        // The CONNECT refusal's body, read raw from the forwarder.
        `echo "DENIED_CONNECT:$(node -e '
        const s = require("net").connect(8119, "127.0.0.1", () => s.write("CONNECT not-listed.example.com:443 HTTP/1.1\\r\\nHost: x\\r\\nProxy-Authorization: Basic " + Buffer.from("u:" + process.env.ANTHROPIC_API_KEY).toString("base64") + "\\r\\n\\r\\n"));
        let b = ""; s.on("data", (c) => (b += c)); s.on("close", () => console.log(b.replace(/\\r?\\n/g, " ")));')"`,
        // Bypassing the proxy: nothing but loopback in here.
        `curl -sS --noproxy '*' --max-time 5 http://${o}:${h}/hello >/dev/null 2>&1; echo "DIRECT_ORIGIN:$?"`,
        `curl -sS --noproxy '*' --max-time 5 http://${hostAddress()}:${h}/hello >/dev/null 2>&1; echo "DIRECT_HOSTIP:$?"`,
        `node -e 'require("net").connect(${h}, "${o}").on("connect", () => { console.log("DIRECT_TCP:connected"); process.exit(0) }).on("error", (e) => { console.log("DIRECT_TCP:" + e.code); process.exit(0) })'`,
        // An allowlisted name resolving to the host's loopback (a live service there): refused, unless
        // the address is listed.
        `echo "NAME_TO_LOOPBACK:$(NO_PROXY= no_proxy= curl -sS -w '\\nNAME_TO_LOOPBACK_CODE:%{http_code}' http://localhost:${upstream.port}/v1/models 2>&1)"`,
        `echo "NAME_TO_LISTED:$(NO_PROXY= no_proxy= curl -sS http://localhost:${loopbackPort}/ 2>&1)"`,
        // Without the token (the proxy URL's password), nothing goes out.
        `echo "NO_TOKEN:$(HTTP_PROXY=http://127.0.0.1:8119 http_proxy=http://127.0.0.1:8119 curl -sS -o /dev/null -w '%{http_code}' http://${o}:${h}/hello 2>&1)"`,
        // git over plain HTTP and over HTTPS (CONNECT), from a dumb-HTTP repository.
        `git clone -q http://${o}:${h}/repo.git r1 2>&1 && echo "GIT_HTTP:$(cat r1/README)"`,
        `git -c http.sslVerify=false clone -q https://${o}:${s}/repo.git r2 2>&1 && echo "GIT_HTTPS:$(cat r2/README)"`,
        // npm install from a registry on the host.
        'mkdir np && cd np && echo "{}" > package.json',
        `npm install --registry http://${o}:${h}/ --cache /tmp/npm-cache --no-audit --no-fund --loglevel=error tinypkg >/tmp/npm.log 2>&1; echo "NPM_EXIT:$?"; tail -5 /tmp/npm.log | sed 's/^/NPM_LOG:/'`,
        `echo "NPM:$(node -e 'console.log(require("tinypkg"))' 2>&1)"`,
        'cd /tmp',
        // Python's urllib honours https_proxy too (pip is not in the image).
        `echo "PYTHON:$(python3 -c 'import ssl, urllib.request; print(urllib.request.urlopen("https://${o}:${s}/hello", context=ssl._create_unverified_context()).read().decode().strip())' 2>&1 | tail -1)"`,
        `echo "ENV:$(env | grep -ci '^https\\?_proxy=http://claude-pod:cpod_') $(env | grep '^NO_PROXY=')"`,
      ].join('\n');
      const { out, exitCode } = await run(await container('tools', script));
      expect(exitCode, out).toBe(0);
      expect(upstream.seen, 'the host loopback service was reached by name').toHaveLength(0);
      expect(field(out, 'HTTP')).toBe('hello from the loopback origin');
      expect(field(out, 'HTTPS')).toBe('hello from the loopback origin');
      expect(field(out, 'DENIED_HTTP')).toContain('"not-listed.example.com" is not in egressAllowlist');
      expect(field(out, 'DENIED_HTTP_CODE')).toBe('403');
      expect(field(out, 'DENIED_HTTPS')).toMatch(/^(56|7) .*403/);
      expect(field(out, 'DENIED_CONNECT')).toMatch(
        /^HTTP\/1\.1 403 .*"not-listed\.example\.com" is not in egressAllowlist/,
      );
      expect(field(out, 'DIRECT_ORIGIN')).not.toBe('0');
      expect(field(out, 'DIRECT_HOSTIP')).not.toBe('0');
      expect(field(out, 'DIRECT_TCP')).toMatch(/^E[A-Z]+$/);
      expect(field(out, 'NAME_TO_LOOPBACK')).toMatch(/resolves to (127\.0\.0\.1|::1), a loopback/);
      expect(field(out, 'NAME_TO_LOOPBACK_CODE')).toBe('403');
      expect(field(out, 'NAME_TO_LISTED')).toBe('host loopback service');
      expect(field(out, 'NO_TOKEN')).toBe('407');
      expect(field(out, 'GIT_HTTP')).toBe('cloned through the claude-pod egress proxy');
      expect(field(out, 'GIT_HTTPS')).toBe('cloned through the claude-pod egress proxy');
      expect(field(out, 'NPM_EXIT')).toBe('0');
      expect(field(out, 'NPM')).toBe('tiny package from the loopback registry');
      expect(field(out, 'PYTHON')).toBe('hello from the loopback origin');
      expect(field(out, 'ENV')).toBe('4 NO_PROXY=127.0.0.1,localhost,::1');
      // The origins saw the requests; the proxy logged each connection without headers or the token.
      expect(origins.seen).toContain('GET /tinypkg');
      expect(origins.seen.some((l) => l.startsWith('GET /repo.git/'))).toBe(true);
      const log = await readFile(proxy.paths.logFile, 'utf8');
      expect(log).toMatch(
        /"jobId":"job-egress-it".*"host":"127\.0\.0\.2".*"allowed":true.*"bytesDown":[1-9]/,
      );
      expect(log).toMatch(/"host":"not-listed\.example\.com".*"allowed":false.*"reason":"not-allowlisted"/);
      expect(log).not.toContain(job.token);
      expect(log).not.toContain('proxy-authorization');
      // And the daemon still serves the model API after all of that.
      expect((await proxy.health())?.serving).toBe(true);
    }, 240_000);
  },
);

describe.skipIf(!env.available)(
  `network mode "proxy" through the supervisor: Claude Code's Bash tool${skipNote(env)}`,
  () => {
    let dir: string;
    let origins: Awaited<ReturnType<typeof startLoopbackOrigins>>;
    let stack: Stack;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cp-egress-sup-'));
      origins = await startLoopbackOrigins(dir);
      stack = await startStack({
        network: 'proxy',
        egressAllowlist: [`${origins.host}:${origins.httpPort}`, `${origins.host}:${origins.httpsPort}`],
      });
    });
    afterAll(async () => {
      await stack?.dispose();
      await origins?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('a real job reaches an allowlisted origin and gets the 403 for another host, its model API untouched', async () => {
      const o = origins.host;
      const command = [
        `echo "EGRESS_OK:$(curl -sSk https://${o}:${origins.httpsPort}/hello)"`,
        `echo "EGRESS_DENIED:$(curl -sS http://not-listed.example.com/ 2>&1)"`,
      ].join('; ');
      const { jobId } = await stack.supervisor.start({
        prompt: `Fetch. ${formatDirective('bash', { command, text: 'fetched' })}`,
      });
      const final = await stack.waitForEnd(jobId, undefined, 180_000);
      expect(final.status, final.error ?? '').toBe('completed');
      expect(final.claude.result).toContain('fetched');
      const { content } = await stack.supervisor.output(jobId, { limit: 1024 * 1024 });
      expect(content).toContain('EGRESS_OK:hello from the loopback origin');
      expect(content).toContain('EGRESS_DENIED:claude-pod: egress to not-listed.example.com:80 refused');
      expect(content).toContain('is not in egressAllowlist');
      expect(origins.seen).toContain('GET /hello');
      // Claude Code's own API requests still went direct to the forwarder (NO_PROXY), to the mock.
      expect(stack.mock.messageRequests().length).toBeGreaterThanOrEqual(2);
    }, 240_000);
  },
);
