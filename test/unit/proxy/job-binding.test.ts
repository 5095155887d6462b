import { lstat, readFile, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ensureApiProxy } from '../../../src/proxy/client.js';
import { jobSocketDir } from '../../../src/proxy/paths.js';
import { isAlive, postMessages as post, waitFor } from './fixtures/http.js';
import { proxyStack } from './fixtures/stack.js';

describe('tokens bound to their job', () => {
  const stack = proxyStack({ resetSeen: true });

  it("refuses a job's token on another job's socket with 401, and logs both job ids, never the token", async () => {
    const { proxy, upstream } = stack;
    const a = await proxy.grant('job-a');
    const b = await proxy.grant('job-b');
    expect(a.socketDir).not.toBe(b.socketDir);
    expect((await post(a, a.token)).status).toBe(200);
    expect((await post(b, b.token)).status).toBe(200);
    const crossed = await post(b, a.token);
    expect(crossed.status).toBe(401);
    expect(JSON.parse(crossed.body)).toMatchObject({ error: { type: 'authentication_error' } });
    // Retrying cannot help: the SDK (and so Claude Code) gives up at once instead of for minutes.
    expect(crossed.headers['x-should-retry']).toBe('false');
    expect((await post(a, b.token)).status).toBe(401);
    expect(upstream.seen).toHaveLength(2);

    const log = await readFile(proxy.paths.logFile, 'utf8');
    const line = log.split('\n').find((l) => l.includes('"socketJob":"job-b"'));
    expect(line).toContain('"tokenJob":"job-a"');
    expect(log).not.toContain(a.token);
    expect(log).not.toContain(b.token);
  });

  it('gives each job a 0700 directory and a 0600 socket of the owner it names, in a 0700 root', async () => {
    const { proxy } = stack;
    const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    // As root, hand it to another uid, as the supervisor does for rootful podman's uid 1000.
    const owner = me.uid === 0 ? { uid: 1000, gid: 1000 } : me;
    const job = await proxy.grant('job-owned', { owner });
    const dir = await stat(job.socketDir);
    const socket = await lstat(job.socketPath);
    expect(socket.isSocket()).toBe(true);
    expect([dir.mode & 0o777, dir.uid, dir.gid]).toEqual([0o700, owner.uid, owner.gid]);
    expect([socket.mode & 0o777, socket.uid, socket.gid]).toEqual([0o600, owner.uid, owner.gid]);
    const root = await stat(proxy.paths.socketRoot);
    expect([root.mode & 0o777, root.uid]).toEqual([0o700, me.uid]);
    expect((await lstat(proxy.paths.controlSocket)).mode & 0o777).toBe(0o600);
    expect((await stat(proxy.paths.activityDir)).mode & 0o777).toBe(0o700);
    expect(job.activityFile.startsWith(`${proxy.paths.activityDir}/`)).toBe(true);
    expect((await post(job, job.token)).status).toBe(200);
  });

  it("removes a revoked job's socket directory and activity file; the daemon stays", async () => {
    const { proxy, upstream } = stack;
    const job = await proxy.grant('job-gone');
    const pid = proxy.pid;
    await proxy.revoke('job-gone');
    await expect(lstat(job.socketDir)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(job.activityFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await proxy.health())?.pid).toBe(pid);
    expect(upstream.seen).toHaveLength(0);
  });

  it('re-creates the socket of a re-attached job in the same directory after the daemon died', async () => {
    const { proxy, upstream } = stack;
    const job = await proxy.grant('job-back');
    const dirIno = (await stat(job.socketDir)).ino;
    const before = proxy.pid;
    process.kill(before, 'SIGKILL');
    await waitFor(() => !isAlive(before));
    await expect(post(job, job.token)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    // The supervisor's handle, whose daemon died under it: re-attaching brings one back.
    const access = await proxy.reattach('job-back');
    expect(access).toEqual({
      socketDir: job.socketDir,
      socketPath: job.socketPath,
      activityFile: job.activityFile,
    });
    const again = proxy;
    // The same directory (what a running container has mounted), a new socket in it.
    expect((await stat(job.socketDir)).ino).toBe(dirIno);
    expect(again.pid).not.toBe(before);
    expect((await post(job, job.token)).status).toBe(200);
    // Every other granted job got its socket back too; an unknown job gets nothing.
    expect((await lstat(jobSocketDir(again.paths, 'job-a'))).isDirectory()).toBe(true);
    expect(await again.reattach('job-never')).toBeNull();

    // A new supervisor's handle after a restart (the daemon died too): the same, from scratch.
    const second = again.pid;
    process.kill(second, 'SIGKILL');
    await waitFor(() => !isAlive(second));
    const restarted = stack.scratch.track(
      await ensureApiProxy({
        stateDir: proxy.paths.dir.replace(/\/api-proxy$/, ''),
        upstream: upstream.url,
        credential: { kind: 'api-key', value: 'sk-real' },
      }),
    );
    expect((await restarted.reattach('job-back'))?.socketPath).toBe(job.socketPath);
    expect((await post(job, job.token)).status).toBe(200);
  });
});
