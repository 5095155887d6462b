import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobLikeSpec } from '../../../src/doctor/job-like-spec.js';
import { createMockApi } from '../../../src/mock-api/index.js';
import {
  ensureApiProxy,
  type ApiProxyHandle,
  type CredentialKind,
  type JobGrant,
} from '../../../src/proxy/client.js';
import type { ContainerSpec } from '../../../src/runtime/engine.js';
import { parseConfig } from '../../../src/shared/config.js';
import type { ApiAccess } from '../../../src/supervisor/api-gate.js';
import { claudeCommand } from '../../../src/supervisor/job-spec.js';
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
const REAL_KEY = 'sk-ant-integration-real-key';

/** An address of this host other than loopback: the container must not reach it either. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '10.0.2.2';
}

/**
 * A job's container exactly as the supervisor builds it (containerSpec: hardening flags,
 * `--network none`, the proxy's socket folder and our entrypoint mounted, the capability token
 * as the job's secret variable), with `command` in place of Claude Code's.
 */
async function jobContainer(
  name: string,
  api: ApiAccess,
  command: string[],
  stdin?: string,
): Promise<ContainerSpec> {
  const rt = mustHave(env);
  const dir = await mkdtemp(join(tmpdir(), `cp-proxy-${name}-`));
  scratch.push(dir);
  return jobLikeSpec({
    config: parseConfig({ ...testRuntimeConfig(), image: rt.image, tmpfsSize: '256m' }),
    runtime: rt.spec,
    name: `claude-pod-test-proxy-${name}-${testRunId}`,
    command,
    labels: { [TEST_RUN_LABEL]: testRunId },
    dir,
    api,
    ...(stdin === undefined ? {} : { stdin }),
  });
}

const scratch: string[] = [];

/**
 * Who the container's user is on the host, as the supervisor computes it (create.ts): rootful
 * engines map uid 1000 straight through; rootless podman maps it to the user running us.
 */
function containerOwner(): { uid: number; gid: number } | undefined {
  const rt = mustHave(env);
  return process.getuid?.() === 0 && !rt.runtime.rootless ? { uid: 1000, gid: 1000 } : undefined;
}

/** Runs a container to its end; its stdout, stderr tail and exit code. */
async function runToEnd(spec: ContainerSpec): Promise<{ out: string; err: string; exitCode: number | null }> {
  const stream = mustHave(env).engine.run(spec);
  let out = '';
  stream.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const end = await stream.done;
  return { out, err: end.stderrTail, exitCode: end.exitCode };
}

describe.skipIf(!env.available)(`api proxy from inside a --network none container${skipNote(env)}`, () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let bait: Server;
  let baitPort: number;
  let stateDir: string;
  let proxy: ApiProxyHandle;
  let job: JobGrant;

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
      socketOwner: containerOwner(),
    });
    job = await proxy.grant('job-it');
  });

  afterAll(async () => {
    if (env.available) await reapByLabel(env.engine, `${TEST_RUN_LABEL}=${testRunId}`);
    await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
    await proxy?.stop().catch(() => undefined);
    if (proxy) await rm(proxy.paths.socketRoot, { recursive: true, force: true });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    bait?.close();
    await upstream?.close();
  });

  it('reaches the model API only through the proxy, with the real key injected on the host', async () => {
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
    const result = await runToEnd(
      await jobContainer('egress', { socketDir: job.socketDir, token: job.token, kind: 'api-key' }, [
        'sh',
        '-c',
        script,
      ]),
    );
    const out = result.out;
    if (process.env.CLAUDE_POD_TEST_VERBOSE) console.log(out, result.err);
    expect(result.exitCode, `${out}\n${result.err}`).toBe(0);
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
    expect(JSON.stringify(upstream.seen)).not.toContain(job.token);
  });

  it("refuses job A's token from job B's container with 401, for curl and for the real Claude Code", async () => {
    const b = await proxy.grant('job-it-b');
    const api = 'http://127.0.0.1:8119';
    const status = (key: string) =>
      `curl -sS -o /dev/null -w '%{http_code}' -X POST '${api}/v1/messages?beta=true' -H "x-api-key: ${key}" -H 'content-type: application/json' -d '{}'`;
    // Job A's token reaches B's container on stdin (as if it had leaked), B's own in its environment.
    const script = [
      'read -r OTHER',
      `echo "OWN:$(${status('$ANTHROPIC_API_KEY')})"`,
      `echo "A:$(${status('$OTHER')})"`,
    ].join('\n');
    const seenBefore = upstream.seen.length;
    const curl = await runToEnd(
      await jobContainer(
        'cross',
        { socketDir: b.socketDir, token: b.token, kind: 'api-key' },
        ['sh', '-c', script],
        `${job.token}\n`,
      ),
    );
    expect(curl.out, curl.err).toContain('OWN:200');
    expect(curl.out).toContain('A:401');
    expect(upstream.seen.length).toBe(seenBefore + 1);

    // The real Claude Code in B's container, holding A's token: an authentication error, nothing upstream.
    const cli = await runToEnd(
      await jobContainer(
        'cross-cli',
        { socketDir: b.socketDir, token: job.token, kind: 'api-key' },
        claudeCommand(null),
        'say hello',
      ),
    );
    const result = cli.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type?: string; is_error?: boolean; result?: string })
      .find((l) => l.type === 'result');
    expect(result?.is_error, `${cli.out}\n${cli.err}`).toBe(true);
    expect(upstream.seen.length).toBe(seenBefore + 1);
    const log = await readFile(proxy.paths.logFile, 'utf8');
    expect(log).toMatch(/"socketJob":"job-it-b","tokenJob":"job-it"/);
    expect(log).not.toContain(job.token);
    expect(log).not.toContain(b.token);
  });

  for (const kind of ['api-key', 'oauth'] as CredentialKind[]) {
    it(`runs the real Claude Code through it (${kind})`, async () => {
      const mock = await createMockApi();
      const dir = await mkdtemp(join(tmpdir(), 'cp-proxy-cli-'));
      const secret = `real-${kind}-secret`;
      const cliProxy = await ensureApiProxy({
        stateDir: dir,
        upstream: mock.url ?? '',
        credential: { kind, value: secret },
        socketOwner: containerOwner(),
      });
      try {
        const grant = await cliProxy.grant('job-cli');
        const capability = grant.token;
        // The job's own container and command, Claude Code's prompt on its stdin.
        const result = await runToEnd(
          await jobContainer(
            `cli-${kind}`,
            { socketDir: grant.socketDir, token: capability, kind },
            claudeCommand(null),
            'say hello',
          ),
        );
        const lines = result.out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { type?: string; is_error?: boolean });
        const resultLine = lines.find((l) => l.type === 'result');
        expect(resultLine?.is_error, `${result.out}\n${result.err}`).toBe(false);
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
        await rm(cliProxy.paths.socketRoot, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
        await mock.close();
      }
    });
  }
});
