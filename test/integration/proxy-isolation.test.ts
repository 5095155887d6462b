import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobLikeSpec } from '../../src/doctor/job-like-spec.js';
import { createMockApi, formatDirective, type MockApi } from '../../src/mock-api/index.js';
import { ensureApiProxy, type ApiProxyHandle, type JobGrant } from '../../src/proxy/client.js';
import type { ContainerSpec, ContainerStream } from '../../src/runtime/engine.js';
import { parseConfig } from '../../src/shared/config.js';
import { claudeCommand } from '../../src/supervisor/job-spec.js';
import {
  mustHave,
  reapByLabel,
  requireRuntime,
  skipNote,
  TEST_RUN_LABEL,
  testRunId,
  testRuntimeConfig,
} from './helpers/runtime.js';
import { runAsNobody } from './helpers/as-nobody.js';
import { sampler } from '../fixtures/sampler.js';

/**
 * The proxy against a hostile container and hostile local users, with the real runtime, the
 * product's own container spec (containerSpec through jobLikeSpec) and the real Claude Code CLI
 * against the in-repo mock API.
 */
const env = await requireRuntime();
const REAL_KEY = 'sk-ant-isolation-real-key';
const FLOOD = fileURLToPath(new URL('../fixtures/socket-flood.mjs', import.meta.url));
const STREAM = { count: 24, delay: 250 }; // a 6 s reply
const isRoot = process.getuid?.() === 0;

const scratch: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function container(
  name: string,
  api: JobGrant,
  command: string[],
  o: { stdin?: string; env?: Record<string, string> } = {},
) {
  const rt = mustHave(env);
  const dir = await mkdtemp(join(tmpdir(), `cp-iso-${name}-`));
  scratch.push(dir);
  const spec = await jobLikeSpec({
    config: parseConfig({ ...testRuntimeConfig(), image: rt.image, tmpfsSize: '256m' }),
    runtime: rt.spec,
    name: `claude-pod-test-iso-${name}-${testRunId}`,
    command,
    labels: { [TEST_RUN_LABEL]: testRunId },
    dir,
    api: { socketDir: api.socketDir, token: api.token, kind: 'api-key' },
    ...(o.stdin === undefined ? {} : { stdin: o.stdin }),
    ...(o.env ? { env: o.env } : {}),
  });
  return { spec, dir };
}

interface CliRun {
  marker: string;
  resultAt: number | null;
  result: { is_error?: boolean; result?: string } | null;
  exitCode: number | null;
  stderr: string;
}

/** Runs the real Claude Code on a slow-streaming reply; notes when its result line appeared. */
async function runClaude(name: string, api: JobGrant): Promise<CliRun> {
  const marker = `marker-${name}-${randomBytes(4).toString('hex')}`;
  const prompt = `${formatDirective('slow-stream', STREAM)} ${marker}`;
  const { spec } = await container(name, api, claudeCommand(null), { stdin: prompt });
  const stream = mustHave(env).engine.run(spec);
  const run: CliRun = { marker, resultAt: null, result: null, exitCode: null, stderr: '' };
  let text = '';
  stream.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    const lines = text.split('\n');
    text = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"type":"result"')) continue;
      run.resultAt = Date.now();
      run.result = JSON.parse(line) as CliRun['result'];
    }
  });
  const end = await stream.done;
  run.exitCode = end.exitCode;
  run.stderr = end.stderrTail;
  return run;
}

/** From the mock's receipt of this run's Messages request to its result line: the reply's time through the proxy. */
function streamMs(mock: MockApi, run: CliRun): number {
  const request = mock.messageRequests().find((r) => JSON.stringify(r.body).includes(run.marker));
  if (!request || run.resultAt === null) return Number.POSITIVE_INFINITY;
  return run.resultAt - request.receivedAt;
}

const expectedText = Array.from({ length: STREAM.count }, (_, i) => `chunk ${i + 1}`).join(' ');

describe.skipIf(!env.available)(`api proxy isolation${skipNote(env)}`, () => {
  let mock: MockApi;
  let stateDir: string;
  let proxy: ApiProxyHandle;
  const containerOwner = () =>
    isRoot && !mustHave(env).runtime.rootless ? { uid: 1000, gid: 1000 } : undefined;

  beforeAll(async () => {
    mock = await createMockApi();
    stateDir = await mkdtemp(join(tmpdir(), 'cp-iso-state-'));
    proxy = await ensureApiProxy({
      stateDir,
      upstream: mock.url ?? '',
      credential: { kind: 'api-key', value: REAL_KEY },
      socketOwner: containerOwner(),
    });
  });

  afterAll(async () => {
    if (env.available) await reapByLabel(env.engine, `${TEST_RUN_LABEL}=${testRunId}`);
    await proxy?.stop().catch(() => undefined);
    if (proxy) await rm(proxy.paths.socketRoot, { recursive: true, force: true });
    await Promise.all(
      [stateDir, ...scratch].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })),
    );
    await mock?.close();
  });

  it('one job floods its socket (6 x 4000 slow connections) while two others stream: they finish on time and whole, the proxy stays', async () => {
    const [flooder, a, b] = await Promise.all(['job-flood', 'job-a', 'job-b'].map((id) => proxy.grant(id)));
    if (!flooder || !a || !b) throw new Error('grants');
    const pid = proxy.pid;

    const baseline = await runClaude('baseline', a);
    expect(baseline.result?.is_error, baseline.stderr).toBe(false);
    const baselineMs = streamMs(mock, baseline);

    // The hostile job: six processes, 4000 slow connections each, straight at its own socket.
    const { spec: floodSpec, dir: floodDir } = await container(
      'flood',
      flooder,
      ['sh', '-c', 'for i in 1 2 3 4 5 6; do node /workspace/socket-flood.mjs & done; wait'],
      {
        env: {
          FLOOD_SOCKET: '/run/claude-pod/api.sock',
          FLOOD_CONNECTIONS: '4000',
          FLOOD_RETRY_MS: '50',
          FLOOD_SECONDS: '90',
        },
      },
    );
    await copyFile(FLOOD, join(floodDir, 'workspace', 'socket-flood.mjs'));
    const floodStats = new Map<
      number,
      { connected: number; maxOpen: number; errors: Record<string, number> }
    >();
    const flood: ContainerStream = mustHave(env).engine.run(floodSpec as ContainerSpec);
    let floodText = '';
    flood.stdout.on('data', (chunk: Buffer) => {
      floodText += chunk.toString('utf8');
      const lines = floodText.split('\n');
      floodText = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const s = JSON.parse(line) as {
          pid: number;
          connected: number;
          maxOpen: number;
          errors: Record<string, number>;
        };
        floodStats.set(s.pid, s);
      }
    });
    const refused = () => [...floodStats.values()].reduce((n, s) => n + (s.errors.ECONNREFUSED ?? 0), 0);
    const deadline = Date.now() + 60_000;
    while ((floodStats.size < 6 || refused() < 5000) && Date.now() < deadline) await sleep(200);
    const floodEnd = await Promise.race([flood.done, sleep(10).then(() => null)]);
    expect(floodEnd?.stderrTail ?? '', 'the flood container ended early').toBe('');
    expect(floodStats.size).toBe(6);
    expect(refused()).toBeGreaterThanOrEqual(5000);

    let maxFds = 0;
    const fds = sampler(async () => {
      maxFds = Math.max(maxFds, (await readdir(`/proc/${pid}/fd`)).length);
      return true;
    }, 200);
    const health = sampler(async () => (await proxy.health(5000))?.pid === pid, 200);
    const runs = Promise.all([runClaude('a', a), runClaude('b', b)]);
    // Meanwhile a new job starts, as a supervisor's start() would: the same daemon, at once.
    const again = await ensureApiProxy({
      stateDir,
      upstream: mock.url ?? '',
      credential: { kind: 'api-key', value: REAL_KEY },
      socketOwner: containerOwner(),
    });
    const grantStarted = Date.now();
    await again.grant('job-d');
    const grantMs = Date.now() - grantStarted;
    const [runA, runB] = await runs;
    const healthSeen = await health.stop();
    await fds.stop();

    const during = [streamMs(mock, runA), streamMs(mock, runB)];
    const flooders = [...floodStats.values()];
    console.info(
      `[isolation] reply of ${STREAM.count} x ${STREAM.delay} ms through the proxy: alone ${baselineMs} ms, ` +
        `during the flood ${during.join(' / ')} ms; new job's grant ${grantMs} ms; health worst ` +
        `${healthSeen.worst} ms; proxy fds max ${maxFds}; flood: ${refused()} connects refused, ` +
        `${flooders.reduce((n, s) => n + s.connected, 0)} accepted in all, max open per process ` +
        `${Math.max(...flooders.map((s) => s.maxOpen))}`,
    );
    for (const run of [runA, runB]) {
      expect(run.result?.is_error, run.stderr).toBe(false);
      expect(run.result?.result).toBe(expectedText);
      expect(run.exitCode).toBe(0);
    }
    for (const ms of during) expect(ms).toBeLessThan(baselineMs + 3000);
    expect(again.reused).toBe(true);
    expect(again.pid).toBe(pid);
    expect((await proxy.health())?.pid).toBe(pid);
    expect(healthSeen.failures).toBe(0);
    expect(healthSeen.worst).toBeLessThan(2000);
    expect(maxFds).toBeLessThan(500);
    await mustHave(env).engine.remove(floodSpec.name);
  }, 180_000);

  it.skipIf(!isRoot)(
    'another local user (nobody) cannot reach any job socket nor read tokens, and ps shows no token and no prompt while a job runs',
    async () => {
      const job = await proxy.grant('job-private');
      const other = await proxy.grant('job-other');
      const running = runClaude('private', job);
      // The job is running once its request reached the mock.
      const seenRequest = await mock.waitForRequest(
        (r) => r.path === '/v1/messages' && JSON.stringify(r.body).includes('marker-private-'),
        90_000,
      );
      const marker = /marker-private-[0-9a-f]{8}/.exec(JSON.stringify(seenRequest.body))?.[0] ?? '';
      const containerPid = (await mustHave(env).engine.inspect(`claude-pod-test-iso-private-${testRunId}`))
        ?.pid;
      const targets = {
        sockets: [
          job.socketPath,
          other.socketPath,
          proxy.paths.controlSocket,
          ...(containerPid ? [`/proc/${containerPid}/root/run/claude-pod/api.sock`] : []),
        ],
        files: [proxy.paths.tokensFile, proxy.paths.pidFile, proxy.paths.logFile, job.activityFile],
        dirs: [proxy.paths.socketRoot, job.socketDir, proxy.paths.dir],
      };
      const probe = await runAsNobody(targets, [job.token, other.token, marker, REAL_KEY]);
      const run = await running;
      console.info(`[isolation] as nobody: ${JSON.stringify(probe)}`);

      expect(run.result?.is_error, run.stderr).toBe(false);
      for (const path of targets.sockets) expect(probe[`connect ${path}`], path).toMatch(/^(EACCES|ENOENT)$/);
      for (const path of targets.files) expect(probe[`read ${path}`], path).toBe('EACCES');
      for (const path of targets.dirs) expect(probe[`list ${path}`], path).toBe('EACCES');
      // The job was running and visible to ps, yet neither its token nor its prompt was anywhere.
      expect(probe.sawJob).toBe(true);
      expect(probe.psHits).toBe(0);
      expect(probe.cmdlineHits).toBe(0);
      expect(probe.environHits).toBe(0);
    },
    120_000,
  );
});
