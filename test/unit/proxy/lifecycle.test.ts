import { readdir, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureApiProxy } from '../../../src/proxy/client.js';
import { fetchHealth } from '../../../src/proxy/control.js';
import { readPidFile } from '../../../src/proxy/pid-file.js';
import { proxyPaths } from '../../../src/proxy/paths.js';
import { startProxyFromChild } from './fixtures/starter.js';
import { startUpstream } from './fixtures/upstream.js';
import {
  finishStream,
  isAlive,
  openStream,
  postMessages as post,
  proxyScratch,
  waitFor,
} from './fixtures/http.js';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

describe('api proxy daemon lifecycle', () => {
  const scratch = proxyScratch();
  let upstream: Upstream;
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterEach(() => scratch.cleanup());
  afterAll(() => upstream.close());

  /** A fresh daemon's options: this upstream, `key` as its api-key. */
  const optionsFor = (stateDir: string, key: string) => ({
    stateDir,
    upstream: upstream.url,
    credential: { kind: 'api-key' as const, value: key },
  });

  it('reuses the running daemon for the same upstream and credential', async () => {
    const stateDir = await scratch.stateDir();
    const options = optionsFor(stateDir, 'key-a');
    const first = scratch.track(await ensureApiProxy(options));
    const second = await ensureApiProxy(options);
    expect(first.reused).toBe(false);
    expect(second.reused).toBe(true);
    expect(second.pid).toBe(first.pid);
    expect(second.paths.controlSocket).toBe(first.paths.controlSocket);
    // The pid file names the daemon and the configuration's hash, never the secret.
    const pidFile = await readPidFile(proxyPaths(stateDir).pidFile);
    expect(pidFile?.pid).toBe(first.pid);
    expect(JSON.stringify(pidFile)).not.toContain('key-a');
  });

  it('restarts on a new credential, keeps granted tokens and lets an in-flight stream finish', async () => {
    const stateDir = await scratch.stateDir();
    const old = scratch.track(await ensureApiProxy(optionsFor(stateDir, 'key-old')));
    const job = await old.grant('job-1');
    const token = job.token;
    const stream = await openStream(job, token);

    const fresh = scratch.track(await ensureApiProxy(optionsFor(stateDir, 'key-new')));
    expect(fresh.reused).toBe(false);
    expect(fresh.pid).not.toBe(old.pid);
    expect((await fresh.health())?.pid).toBe(fresh.pid);

    // The old daemon drains: its stream completes although the socket already belongs to the new one.
    expect(isAlive(old.pid)).toBe(true);
    await finishStream(upstream, stream);
    await waitFor(() => !isAlive(old.pid));

    upstream.seen.length = 0;
    expect((await post(job, token)).status).toBe(200);
    expect(upstream.seen[0]?.headers['x-api-key']).toBe('key-new');
  });

  it('hands over without a refused connect: every request during a takeover is answered', async () => {
    const stateDir = await scratch.stateDir();
    const options = optionsFor(stateDir, 'key-1');
    const old = scratch.track(await ensureApiProxy(options));
    const jobs = await Promise.all(['job-h1', 'job-h2', 'job-h3'].map((id) => old.grant(id)));
    const failures: string[] = [];
    let answered = 0;
    let running = true;
    const hammer = Promise.all(
      jobs.map(async (job) => {
        while (running) {
          const reply = await post(job, job.token).catch((e: NodeJS.ErrnoException) => ({ status: e.code }));
          if (reply.status === 200) answered += 1;
          else failures.push(String(reply.status));
          await new Promise((r) => setTimeout(r, 60)); // within the job's request rate (20/s)
        }
      }),
    );
    await waitFor(() => answered > 10);
    const fresh = scratch.track(
      await ensureApiProxy({ ...options, credential: { kind: 'api-key', value: 'key-2' } }),
    );
    await waitFor(() => !isAlive(old.pid), 15_000);
    const after = answered;
    await waitFor(() => answered > after + 10);
    running = false;
    await hammer;
    expect(fresh.pid).not.toBe(old.pid);
    expect(failures).toEqual([]);
    expect(upstream.seen.at(-1)?.headers['x-api-key']).toBe('key-2');
  });

  it('never kills a daemon that is alive but slow to answer: it is reused once it answers', async () => {
    const stateDir = await scratch.stateDir();
    const options = optionsFor(stateDir, 'key-busy');
    const first = scratch.track(await ensureApiProxy(options));
    const job = await first.grant('job-busy');
    const stream = await openStream(job, job.token);
    // Stopped for 1.5 s: its health check times out meanwhile, as a starved daemon's would.
    process.kill(first.pid, 'SIGSTOP');
    const resume = setTimeout(() => process.kill(first.pid, 'SIGCONT'), 1500);
    const t = Date.now();
    const second = await ensureApiProxy({ ...options, busyGraceMs: 10_000 });
    clearTimeout(resume);
    expect(Date.now() - t).toBeGreaterThanOrEqual(1400);
    expect(second.reused).toBe(true);
    expect(second.pid).toBe(first.pid);
    await finishStream(upstream, stream);
  });

  it('a daemon silent past the grace is taken over, not killed: its stream finishes, then it exits', async () => {
    const stateDir = await scratch.stateDir();
    const options = optionsFor(stateDir, 'key-hung');
    const old = scratch.track(await ensureApiProxy(options));
    const job = await old.grant('job-hung');
    const stream = await openStream(job, job.token);
    process.kill(old.pid, 'SIGSTOP');
    let fresh;
    try {
      fresh = scratch.track(await ensureApiProxy({ ...options, busyGraceMs: 300 }));
      expect(fresh.pid).not.toBe(old.pid);
      // The job's socket is the new daemon's now; the old one is still there (stopped, not killed).
      upstream.seen.length = 0;
      expect((await post(job, job.token)).status).toBe(200);
      expect(isAlive(old.pid)).toBe(true);
    } finally {
      process.kill(old.pid, 'SIGCONT');
    }
    await finishStream(upstream, stream);
    await waitFor(() => !isAlive(old.pid), 10_000);
    expect((await fresh.health())?.pid).toBe(fresh.pid);
  });

  it('survives a kill -9 of the process that started it', async () => {
    const stateDir = await scratch.stateDir();
    const started = await startProxyFromChild({ stateDir, upstream: upstream.url, apiKey: 'key-child' });
    const child = started.child;
    const handle = scratch.track(await ensureApiProxy(optionsFor(stateDir, 'key-child')));
    expect(handle.pid).toBe(started.pid);

    // An API stream is in flight when the starter dies.
    const stream = await openStream(started, started.token);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');

    await finishStream(upstream, stream);
    expect(isAlive(started.pid)).toBe(true);
    expect((await post(started, started.token)).status).toBe(200);
  });

  it('exits by itself once it has had no tokens and no connections for idleExitMs', async () => {
    const stateDir = await scratch.stateDir();
    const proxy = scratch.track(
      await ensureApiProxy({ ...optionsFor(stateDir, 'key-idle'), idleExitMs: 300 }),
    );
    const job = await proxy.grant('job-1');
    expect((await post(job, job.token)).status).toBe(200);
    await proxy.revoke('job-1');
    await waitFor(() => !isAlive(proxy.pid), 10_000);
    expect(await proxy.health()).toBeNull();
    expect(await readPidFile(proxyPaths(stateDir).pidFile)).toBeNull();

    // The supervisor's handle outlives the daemon: its next grant brings a daemon back.
    const firstPid = proxy.pid;
    const later = await proxy.grant('job-2');
    expect(proxy.pid).not.toBe(firstPid);
    expect((await proxy.health())?.pid).toBe(proxy.pid);
    expect((await post(later, later.token)).status).toBe(200);
  });

  it('exits after orphanExitMs without connections even when tokens were never revoked', async () => {
    const stateDir = await scratch.stateDir();
    const proxy = scratch.track(
      await ensureApiProxy({ ...optionsFor(stateDir, 'key-orphan'), orphanExitMs: 400 }),
    );
    const job = await proxy.grant('job-left-behind');
    expect((await post(job, job.token)).status).toBe(200);
    await waitFor(() => !isAlive(proxy.pid), 10_000);
    // The token itself survives in the tokens file: a supervisor coming back may still use it.
    expect(await proxy.isGranted('job-left-behind')).toBe(true);
    await proxy.ensureRunning();
    expect((await post(job, job.token)).status).toBe(200);
  });

  it('listens again when a socket file is removed', async () => {
    const stateDir = await scratch.stateDir();
    const proxy = scratch.track(await ensureApiProxy(optionsFor(stateDir, 'key-s')));
    const job = await proxy.grant('job-s');
    await unlink(job.socketPath);
    await unlink(proxy.paths.controlSocket);
    await waitFor(async () => (await fetchHealth(proxy.paths.controlSocket, 200))?.pid === proxy.pid);
    await waitFor(async () => (await post(job, job.token).catch(() => null))?.status === 200);
  });

  it('stops, writing nothing, when its state directory is removed under it (rm -rf of a state dir)', async () => {
    const stateDir = await scratch.stateDir();
    const proxy = await ensureApiProxy(optionsFor(stateDir, 'key-rm'));
    await proxy.grant('job-rm');
    const pid = proxy.pid;
    // What an rm -rf does first in the proxy's directory: the pid file goes.
    await unlink(proxy.paths.pidFile);
    await waitFor(() => !isAlive(pid));
    await expect(readdir(proxy.paths.dir)).resolves.not.toContain('proxy.json');
  });

  it('stop() ends the daemon and frees the socket', async () => {
    const stateDir = await scratch.stateDir();
    const proxy = await ensureApiProxy(optionsFor(stateDir, 'key-stop'));
    await proxy.stop();
    expect(isAlive(proxy.pid)).toBe(false);
    expect(await proxy.health()).toBeNull();
    const again = scratch.track(await ensureApiProxy(optionsFor(stateDir, 'key-stop')));
    expect(again.reused).toBe(false);
  });
});
