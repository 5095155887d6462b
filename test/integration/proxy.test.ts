import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockApi } from '../../src/mock-api/index.js';
import { ensureApiProxy, type ApiProxyHandle, type CredentialKind } from '../../src/proxy/client.js';
import { buildRunArgs } from '../../src/runtime/run-args.js';
import { containerDir } from '../../src/shared/paths.js';
import { claudeCommand } from '../../src/supervisor/job-spec.js';
import { startUpstream } from '../unit/proxy/fixtures/upstream.js';
import { reapByLabel, requireRuntime, skipNote, TEST_RUN_LABEL, testRunId } from './helpers/runtime.js';

const env = await requireRuntime();
const REAL_KEY = 'sk-ant-integration-real-key';

/** An address of this host other than loopback: the container must not reach it either. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '10.0.2.2';
}

/**
 * A job's container as the supervisor runs it (buildRunArgs: the hardening flags, `--network
 * none`), plus `--rm`, with a proxy's socket directory and our entrypoint mounted.
 */
function proxiedRunArgs(
  name: string,
  socketDir: string,
  vars: Record<string, string>,
  command: string[],
  stdin?: string,
): string[] {
  if (!env.available) throw new Error('no container runtime');
  const args = buildRunArgs(env.spec.kind, {
    name: `claude-pod-test-proxy-${name}-${testRunId}`,
    labels: { [TEST_RUN_LABEL]: testRunId },
    image: env.image,
    memory: '512m',
    cpus: '1.0',
    pidsLimit: 512,
    tmpfsSize: '256m',
    network: 'none',
    apparmorProfile: '',
    user: '1000:1000',
    mounts: [
      { source: socketDir, target: '/run/claude-pod', readonly: true },
      { source: join(containerDir, 'runtime'), target: '/opt/claude-pod', readonly: true },
    ],
    env: vars,
    secretEnv: {},
    workdir: '/tmp',
    entrypoint: '/opt/claude-pod/entrypoint.sh',
    command,
    ...(stdin === undefined ? {} : { stdin }),
  });
  args.splice(1, 0, '--rm');
  return [...env.spec.globalArgs, ...args];
}

describe.skipIf(!env.available)(`api proxy from inside a --network none container${skipNote(env)}`, () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let bait: Server;
  let baitPort: number;
  let stateDir: string;
  let proxy: ApiProxyHandle;
  let token: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    // Listens on every interface: reachable from anywhere that has a network. The container has none.
    bait = createServer((_req, res) => res.end('reached'));
    await new Promise<void>((r) => bait.listen(0, '0.0.0.0', r));
    baitPort = (bait.address() as AddressInfo).port;
    stateDir = await mkdtemp(join(tmpdir(), 'cp-proxy-it-'));
    proxy = await ensureApiProxy({
      stateDir,
      upstream: upstream.url,
      credential: { kind: 'api-key', value: REAL_KEY },
    });
    token = await proxy.grant('job-it');
  });

  afterAll(async () => {
    if (env.available) await reapByLabel(env.spec, `${TEST_RUN_LABEL}=${testRunId}`);
    await proxy?.stop().catch(() => undefined);
    if (proxy) await rm(proxy.socketDir, { recursive: true, force: true });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    bait?.close();
    await upstream?.close();
  });

  it('reaches the model API only through the proxy, with the real key injected on the host', async () => {
    if (!env.available) return;
    const api = 'http://127.0.0.1:8119';
    const script = [
      `code=$(curl -sS -o /tmp/a -w '%{http_code}' -X POST '${api}/v1/messages?beta=true' -H "x-api-key: $ANTHROPIC_API_KEY" -H 'content-type: application/json' -d '{"model":"m","messages":[]}')`,
      'echo "OK:$code:$(cat /tmp/a)"',
      `echo "BOGUS:$(curl -sS -o /dev/null -w '%{http_code}' -X POST ${api}/v1/messages -H 'x-api-key: cpod_bogus' -d '{}')"`,
      `echo "FILES:$(curl -sS -o /dev/null -w '%{http_code}' -X POST ${api}/v1/files -H "x-api-key: $ANTHROPIC_API_KEY" -d '{}')"`,
      `curl -sS --max-time 3 http://${hostAddress()}:${baitPort}/ >/dev/null 2>&1; echo "HOSTIP:$?"`,
      `curl -sS --max-time 3 http://127.0.0.1:${upstream.port}/ >/dev/null 2>&1; echo "LOOPBACK:$?"`,
      `curl -sS --max-time 3 https://api.anthropic.com/ >/dev/null 2>&1; echo "INTERNET:$?"`,
      // The forwarder hangs off init, not off the command: signals for the command reach only it.
      `echo "FWD_PPID:$(ps -eo ppid=,args= | awk '/forwarder\\.mjs/ && !/awk/ {print $1}')"`,
      'echo "SELF_PPID:$PPID"',
    ].join('\n');
    const result = await execa(
      env.spec.command,
      proxiedRunArgs(
        'egress',
        proxy.socketDir,
        {
          ANTHROPIC_API_KEY: token,
          CLAUDE_POD_API_PORT: '8119',
        },
        ['sh', '-c', script],
      ),
      { reject: false, stdin: 'ignore', timeout: 120_000 },
    );
    const out = String(result.stdout);
    if (process.env.CLAUDE_POD_TEST_VERBOSE) console.log(out, String(result.stderr));
    expect(result.exitCode, `${out}\n${String(result.stderr)}`).toBe(0);
    const field = (name: string): string | undefined =>
      out
        .split('\n')
        .find((l) => l.startsWith(`${name}:`))
        ?.slice(name.length + 1);

    expect(field('OK')).toBe('200:{"ok":true,"path":"/v1/messages?beta=true"}');
    expect(field('BOGUS')).toBe('401');
    expect(field('FILES')).toBe('403');
    for (const name of ['HOSTIP', 'LOOPBACK', 'INTERNET']) expect(field(name), name).not.toBe('0');
    expect(field('FWD_PPID')).toBe('1');
    expect(field('SELF_PPID')).toBe('1');

    const seen = upstream.seen.find((s) => s.url === '/v1/messages?beta=true');
    expect(seen?.headers['x-api-key']).toBe(REAL_KEY);
    expect(JSON.stringify(upstream.seen)).not.toContain(token);
  });

  for (const kind of ['api-key', 'oauth'] as CredentialKind[]) {
    it(`runs the real Claude Code through it (${kind})`, async () => {
      if (!env.available) return;
      const mock = await createMockApi();
      const dir = await mkdtemp(join(tmpdir(), 'cp-proxy-cli-'));
      const secret = `real-${kind}-secret`;
      const cliProxy = await ensureApiProxy({
        stateDir: dir,
        upstream: mock.url ?? '',
        credential: { kind, value: secret },
      });
      try {
        const capability = await cliProxy.grant('job-cli');
        const result = await execa(
          env.spec.command,
          proxiedRunArgs(
            `cli-${kind}`,
            cliProxy.socketDir,
            {
              HOME: '/tmp',
              CLAUDE_CONFIG_DIR: '/tmp/.claude',
              IS_SANDBOX: '1',
              DISABLE_AUTOUPDATER: '1',
              CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
              ANTHROPIC_BASE_URL: 'http://127.0.0.1:8119',
              [kind === 'oauth' ? 'CLAUDE_CODE_OAUTH_TOKEN' : 'ANTHROPIC_API_KEY']: capability,
            },
            claudeCommand(null),
            'say hello',
          ),
          { reject: false, input: 'say hello', timeout: 150_000 },
        );
        const lines = String(result.stdout)
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { type?: string; is_error?: boolean });
        const resultLine = lines.find((l) => l.type === 'result');
        expect(resultLine?.is_error, `${String(result.stdout)}\n${String(result.stderr)}`).toBe(false);
        const messages = mock.messageRequests();
        expect(messages.length).toBeGreaterThan(0);
        for (const req of messages) {
          if (kind === 'api-key') {
            expect(req.headers['x-api-key']).toBe(secret);
            expect(req.headers.authorization).toBeUndefined();
          } else {
            expect(req.headers.authorization).toBe(`Bearer ${secret}`);
            expect(req.headers['x-api-key']).toBeUndefined();
          }
        }
        expect(JSON.stringify(mock.requests)).not.toContain(capability);
      } finally {
        await cliProxy.stop().catch(() => undefined);
        await rm(cliProxy.socketDir, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
        await mock.close();
      }
    });
  }
});
