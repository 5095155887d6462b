import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureApiProxy, type ApiProxyHandle, type JobGrant } from '../../../src/proxy/client.js';
import type { JobLimitsInput } from '../../../src/proxy/limits.js';
import { sampler } from '../../fixtures/sampler.js';
import { isAlive, json, open, proxyScratch, waitFor } from './fixtures/http.js';
import { startProxyFromChild, type Started } from './fixtures/starter.js';
import { measureStream, startTimedUpstream, type StreamTiming } from './fixtures/timed-upstream.js';

const FLOOD = fileURLToPath(new URL('../../fixtures/socket-flood.mjs', import.meta.url));
// The daemon runs with 1024 open files at most (soft and hard, as on many hosts); one job opens
// three times that many connections. Without per-job caps that is EMFILE for every job.
const FD_LIMIT = 1024;
const LIMITS: JobLimitsInput = {
  maxConnections: 32,
  headersTimeoutMs: 2000,
  requestsPerSecond: 20,
  requestBurst: 40,
};
const STREAM = { count: 40, intervalMs: 50 }; // a 2 s reply
const KEY = 'sk-fair';

interface FloodStats {
  attempts: number;
  connected: number;
  open: number;
  maxOpen: number;
  errors: Record<string, number>;
}

function startFlood(env: Record<string, string>): { child: ChildProcess; last: () => FloodStats | null } {
  const child = spawn(process.execPath, [FLOOD], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let last: FloodStats | null = null;
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    const line = lines.at(-1);
    if (line) last = JSON.parse(line) as FloodStats;
  });
  return { child, last: () => last };
}

async function stream(job: JobGrant): Promise<StreamTiming> {
  const { res } = await open(job, {
    method: 'POST',
    path: '/v1/messages',
    headers: { ...json, 'x-api-key': job.token },
    body: '{"stream":true}',
  });
  return measureStream(res);
}

const fdCount = async (pid: number): Promise<number> => (await readdir(`/proc/${pid}/fd`)).length;

describe('one job cannot starve the others', () => {
  const scratch = proxyScratch();
  let upstream: Awaited<ReturnType<typeof startTimedUpstream>>;
  let starter: Started;
  let proxy: ApiProxyHandle;
  let stateDir: string;
  let flooder: JobGrant;
  let a: JobGrant;
  let b: JobGrant;
  const floods: ChildProcess[] = [];

  beforeAll(async () => {
    upstream = await startTimedUpstream(STREAM);
    stateDir = await scratch.stateDir();
    starter = await startProxyFromChild({
      stateDir,
      upstream: upstream.url,
      apiKey: KEY,
      limits: LIMITS,
      fdLimit: FD_LIMIT,
    });
    proxy = scratch.track(
      await ensureApiProxy({
        stateDir,
        upstream: upstream.url,
        credential: { kind: 'api-key', value: KEY },
        limits: LIMITS,
      }),
    );
    expect(proxy.pid).toBe(starter.pid);
    expect((await proxy.health())?.fdLimit).toBe(FD_LIMIT);
    [flooder, a, b] = (await Promise.all(['job-flood', 'job-a', 'job-b'].map((id) => proxy.grant(id)))) as [
      JobGrant,
      JobGrant,
      JobGrant,
    ];
  });
  afterEach(() => {
    for (const child of floods.splice(0)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    starter?.child.kill('SIGKILL');
    await scratch.cleanup();
    await upstream?.close();
  });

  it('thousands of slow connections on one job: the others stream on time, the daemon stays', async () => {
    const baseline = await stream(a);
    expect(baseline.complete).toBe(true);

    const flood = startFlood({
      FLOOD_SOCKET: flooder.socketPath,
      FLOOD_CONNECTIONS: '3000',
      FLOOD_RETRY_MS: '20',
    });
    floods.push(flood.child);
    // The flooding job reaches its cap and its socket stops accepting: its connects are refused.
    await waitFor(() => (flood.last()?.errors.ECONNREFUSED ?? 0) > 1000, 20_000);

    let maxConnections = 0;
    const health = sampler(async () => {
      const seen = await proxy.health(5000);
      maxConnections = Math.max(maxConnections, seen?.connections ?? 0);
      return seen?.pid === starter.pid;
    }, 100);
    let maxFds = 0;
    const fds = sampler(async () => (maxFds = Math.max(maxFds, await fdCount(starter.pid))), 200);
    // Two jobs, two streams each, while the flood goes on; and a new job starts meanwhile.
    const streams = Promise.all([stream(a), stream(a), stream(b), stream(b)]);
    const again = await ensureApiProxy({
      stateDir,
      upstream: upstream.url,
      credential: { kind: 'api-key', value: KEY },
      limits: LIMITS,
    });
    const grantStarted = Date.now();
    const d = await again.grant('job-d');
    const grantMs = Date.now() - grantStarted;
    const dTiming = await stream(d);
    const timings = await streams;
    const healthSeen = await health.stop();
    await fds.stop();
    const floodSeen = flood.last();
    console.info(
      `[fairness] baseline ${JSON.stringify(baseline)}; during the flood: streams ` +
        `${JSON.stringify(timings.map((t) => [t.maxLagMs, t.totalMs]))}, new job grant ${grantMs} ms, ` +
        `its stream ${JSON.stringify([dTiming.maxLagMs, dTiming.totalMs])}, health worst ${healthSeen.worst} ms, ` +
        `daemon connections max ${maxConnections}, fds max ${maxFds}; flood ${JSON.stringify(floodSeen)}`,
    );

    expect(again.reused).toBe(true);
    expect(again.pid).toBe(starter.pid);
    expect(isAlive(starter.pid)).toBe(true);
    expect(healthSeen.failures).toBe(0);
    expect(healthSeen.worst).toBeLessThan(1000);
    for (const t of [...timings, dTiming]) {
      expect(t.complete).toBe(true);
      expect(t.events).toBe(STREAM.count);
      expect(t.maxLagMs).toBeLessThan(500);
      expect(t.totalMs).toBeLessThan(baseline.totalMs + 1500);
    }
    // The flooder never held more than its cap (32, plus the other jobs' 5 streams); the daemon's
    // descriptors stayed far from its limit.
    expect(maxConnections).toBeLessThanOrEqual(32 + 5);
    expect(maxFds).toBeLessThan(FD_LIMIT / 4);
  });

  it('slow headers are cut after headersTimeoutMs', async () => {
    const socket = net.connect(a.socketPath);
    const t = Date.now();
    socket.on('connect', () => socket.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    let reply = '';
    socket.on('data', (c: Buffer) => (reply += c.toString('utf8')));
    await new Promise<void>((r) => socket.on('close', () => r()));
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - t).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it("a pipelined request flood from one job is penalised; other jobs' streams are unaffected", async () => {
    const flood = startFlood({
      FLOOD_SOCKET: flooder.socketPath,
      FLOOD_CONNECTIONS: '32',
      FLOOD_MODE: 'requests',
      FLOOD_TOKEN: flooder.token,
      FLOOD_RETRY_MS: '10',
    });
    floods.push(flood.child);
    await waitFor(() => (flood.last()?.connected ?? 0) > 0, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const timings = await Promise.all([stream(a), stream(b)]);
    console.info(
      `[fairness] request flood: streams ${JSON.stringify(timings.map((t) => [t.maxLagMs, t.totalMs]))}`,
    );
    for (const t of timings) {
      expect(t.complete).toBe(true);
      expect(t.maxLagMs).toBeLessThan(500);
    }
    expect((await proxy.health())?.pid).toBe(starter.pid);
    // Penalised: its connections were cut and its socket refused it for a while. The flood
    // reports its counters once a second, so wait for a report that has seen it.
    const penalised = () => {
      const seen = flood.last();
      return (seen?.errors.ECONNREFUSED ?? 0) > 0 && (seen?.connected ?? 0) > 32;
    };
    await waitFor(penalised, 10_000).catch(() => undefined);
    const seen = flood.last();
    expect(seen?.errors.ECONNREFUSED ?? 0).toBeGreaterThan(0);
    expect(seen?.connected ?? 0).toBeGreaterThan(32);
  });

  it('caps requests in flight per job with 429', async () => {
    const opened = await Promise.all(
      Array.from({ length: 16 }, () =>
        open(a, {
          method: 'POST',
          path: '/v1/messages',
          headers: { ...json, 'x-api-key': a.token },
          body: '{}',
        }),
      ),
    );
    const over = await open(a, {
      method: 'POST',
      path: '/v1/messages',
      headers: { ...json, 'x-api-key': a.token },
      body: '{}',
    });
    expect(opened.map((o) => o.res.statusCode)).toEqual(Array(16).fill(200));
    expect(over.res.statusCode).toBe(429);
    over.res.resume();
    for (const o of opened) o.req.destroy();
  });
});
