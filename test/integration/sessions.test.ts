import { createServer, type IncomingMessage } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockApi, formatDirective, type MockApi } from '../../src/mock-api/index.js';
import { containerNameFor } from '../../src/runtime/labels.js';
import type { ConfigInput } from '../../src/shared/config.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import { openOwner } from '../../src/supervisor/create.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import {
  captureContainerLog,
  crashScenario,
  normalizeStream,
  spawnSupervisorChild,
} from './helpers/crash.js';
import { releaseDisksUnder } from '../fixtures/disks.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, TEST_API_KEY, type Stack } from './helpers/stack.js';

const env = await requireRuntime();
const apiEnv = { ANTHROPIC_API_KEY: TEST_API_KEY };

const waitForEnd = (sup: Supervisor, jobId: string) =>
  new Promise<ReturnType<Supervisor['status']>>((resolve) => {
    const now = sup.status(jobId);
    if (['completed', 'failed', 'cancelled'].includes(now.status)) return resolve(now);
    const on = (s: ReturnType<Supervisor['status']>) =>
      s.jobId === jobId && (sup.off('job:end', on), resolve(s));
    sup.on('job:end', on);
  });

describe.skipIf(!env.available)(`crash recovery (real runtime and CLI)${skipNote(env)}`, () => {
  let mock: MockApi;
  let dir: string;
  beforeAll(async () => {
    mock = await createMockApi({ host: '127.0.0.1', port: 0, scenario: crashScenario() });
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-crash-'));
  });
  afterAll(async () => {
    await mock?.close();
    await releaseDisksUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  const configFor = (name: string): ConfigInput => ({
    sessionsDir: join(dir, name, 'sessions'),
    workspacesDir: join(dir, name, 'workspaces'),
    apiBaseUrl: mock.url ?? '',
    network: 'none',
  });

  /** The same job with no crash, for comparison (the CLI's uuids/ids differ run to run). */
  async function uncrashedRun(): Promise<string> {
    const sup = await openOwner(configFor('reference'), { env: apiEnv });
    try {
      const { jobId } = await sup.start({ prompt: 'crash test' });
      const final = await waitForEnd(sup, jobId);
      expect(final.status).toBe('completed');
      return (await sup.output(jobId, { limit: 1024 * 1024 })).content;
    } finally {
      await sup.close();
    }
  }

  for (const variant of ['still running', 'finished while down'] as const) {
    it(`kill -9 of the host mid-stream, container ${variant}: the job completes, output whole`, async () => {
      const config = configFor(variant.replace(/ /g, '-'));
      const child = await spawnSupervisorChild(config, 'crash test', apiEnv);
      const started = await child.waitFor((l) => l.event === 'started');
      const jobId = String(started.jobId);
      const containerName = containerNameFor(jobId);
      const truth = captureContainerLog(env.available ? env.spec : (undefined as never), containerName);
      // Some output is on disk, and the final model turn is streaming: now crash.
      await child.waitFor((l) => l.event === 'progress' && Number(l.outputSize) > 0);
      await mock.waitForRequest((r) => JSON.stringify(r.body ?? '').includes('tool_result'), 60_000);
      await child.kill9();

      if (variant === 'finished while down') {
        const spec = env.available ? env.spec : (undefined as never);
        await execa(spec.command, [...spec.globalArgs, 'wait', containerName], { reject: false });
      }
      const sup = await openOwner(config, { env: apiEnv });
      try {
        const final = await waitForEnd(sup, jobId);
        expect(final.status, final.error ?? '').toBe('completed');
        const output = await sup.output(jobId, { limit: 1024 * 1024 });
        expect(output.hasMore).toBe(false);
        // Byte-identical to what the container printed: nothing lost, nothing doubled.
        const printed = await truth;
        expect(Buffer.from(output.content)).toEqual(printed);
        // And the same events as the same job run without a crash.
        expect(normalizeStream(output.content)).toEqual(normalizeStream(await uncrashedRun()));
        const left = await execa(
          env.available ? env.spec.command : '',
          ['ps', '-a', '--filter', `label=io.claude-pod.owner=${sup.ownerId}`, '--format', '{{.Names}}'],
          { reject: false },
        );
        expect(String(left.stdout).trim()).toBe('');
      } finally {
        await sup.close();
      }
    });
  }

  it('a job whose container vanished while down fails with CONTAINER_LOST; an unknown container is removed', async () => {
    const config = configFor('lost');
    const child = await spawnSupervisorChild(config, 'crash test', apiEnv);
    const started = await child.waitFor((l) => l.event === 'started');
    const jobId = String(started.jobId);
    // Output on disk means the container exists (the runtime client may still be creating it
    // when the job is announced running).
    await child.waitFor((l) => l.event === 'progress' && Number(l.outputSize) > 0);
    await child.kill9();
    const spec = env.available ? env.spec : (undefined as never);
    await execa(spec.command, [...spec.globalArgs, 'rm', '-f', '-t', '0', containerNameFor(jobId)], {
      reject: false,
    });
    const sup = await openOwner(config, { env: apiEnv });
    try {
      // A container with our owner label that no job knows: reaped on the next start.
      await execa(spec.command, [
        ...spec.globalArgs,
        'run',
        '-d',
        '--ulimit',
        'nofile=4096:4096',
        '--ulimit',
        'nproc=4096:4096',
        '--name',
        'claude-pod-stray-test',
        '--label',
        `io.claude-pod.owner=${sup.ownerId}`,
        '--network',
        'none',
        env.available ? env.image : '',
        'sleep',
        '600',
      ]);
      expect(sup.status(jobId)).toMatchObject({ status: 'failed', errorCode: ErrorCodes.CONTAINER_LOST });
      await sup.close();
      const again = await openOwner(config, { env: apiEnv });
      await again.close();
      const ps = await execa(spec.command, [
        ...spec.globalArgs,
        'ps',
        '-a',
        '--filter',
        'name=claude-pod-stray-test',
        '--format',
        '{{.Names}}',
      ]);
      expect(String(ps.stdout).trim()).toBe('');
    } finally {
      await execa(spec.command, [...spec.globalArgs, 'rm', '-f', '-t', '0', 'claude-pod-stray-test'], {
        reject: false,
      });
    }
  });
});

describe.skipIf(!env.available)(`sessions (real runtime and CLI)${skipNote(env)}`, () => {
  let stack: Stack;
  beforeAll(async () => {
    process.env.CLAUDE_POD_FAULT_INJECTION = '1';
    stack = await startStack({ maxConcurrentJobs: 2 });
  });
  afterAll(async () => {
    delete process.env.CLAUDE_POD_FAULT_INJECTION;
    await stack?.dispose();
  });

  it('resumes a two-turn session: the CLI transcript and the API both see the first turn', async () => {
    const sup = stack.supervisor;
    const first = await sup.start({ prompt: `Remember the word PINEAPPLE. ${formatDirective('echo')}` });
    const one = await stack.waitForEnd(first.jobId);
    expect(one.status).toBe('completed');
    const busy = await sup.start({
      prompt: `slow ${formatDirective('slow-stream', { count: 10, delay: 200 })}`,
      sessionId: first.sessionId,
    });
    await expect(sup.start({ prompt: 'again', sessionId: first.sessionId })).rejects.toMatchObject({
      code: ErrorCodes.SESSION_BUSY,
    });
    await stack.waitForEnd(busy.jobId);
    const second = await sup.start({
      prompt: `What was the word? ${formatDirective('multi-turn')}`,
      sessionId: first.sessionId,
    });
    const two = await stack.waitForEnd(second.jobId);
    expect(two.status).toBe('completed');
    expect(two.claude.sessionId).toBe(one.claude.sessionId);
    // The mock saw the earlier turns in the request that answered the second prompt.
    const earlier = /Earlier messages: (\d+)/.exec(two.claude.result ?? '');
    expect(Number(earlier?.[1])).toBeGreaterThanOrEqual(4);
    const req = stack.mock.requests
      .filter((r) => JSON.stringify(r.body).includes('What was the word?'))
      .pop();
    expect(JSON.stringify(req?.body)).toContain('PINEAPPLE');
    // The CLI's own transcript of the session holds the first turn.
    const session = sup.sessions().find((s) => s.sessionId === first.sessionId)!;
    expect(session.messageCount).toBe(3);
    const projects = join(sup.paths.claudeDir(first.sessionId), 'projects', '-workspace');
    const transcript = await readFile(join(projects, `${one.claude.sessionId}.jsonl`), 'utf8');
    expect(transcript).toContain('PINEAPPLE');
  });

  it('rejects hostile session ids and writes nothing outside the two directories', async () => {
    const sup = stack.supervisor;
    const before = await readdir(stack.dir, { recursive: true });
    for (const id of [
      '../x',
      '/etc',
      'a/b',
      '',
      'x'.repeat(10 * 1024),
      'a\0b',
      '..',
      '.',
      '../../../../tmp/evil',
    ]) {
      await expect(sup.start({ prompt: 'hi', sessionId: id })).rejects.toMatchObject({
        code: ErrorCodes.INVALID_SESSION_ID,
      });
    }
    expect(await readdir(stack.dir, { recursive: true })).toEqual(before);
  });

  it.each(['throw', 'exit'])(
    'a worker that dies (%s) fails its job, removes its container, and the pool goes on',
    async (fault) => {
      const sup = stack.supervisor;
      const { jobId } = await sup.start({
        prompt: `[[fault:${fault}]] ${formatDirective('slow-stream', { count: 40, delay: 200 })}`,
      });
      const final = await stack.waitForEnd(jobId);
      expect(final.status).toBe('failed');
      expect(final.errorCode).toBe(ErrorCodes.WORKER_CRASHED);
      expect(await stack.containersLeft()).toEqual([]);
      const next = await sup.start({ prompt: `after the fault ${formatDirective('echo')}` });
      expect((await stack.waitForEnd(next.jobId)).status).toBe('completed');
    },
  );

  it('cleanup removes idle sessions (state and the workspace we created), never a busy one', async () => {
    const sup = stack.supervisor;
    const idle = await sup.start({ prompt: `idle ${formatDirective('echo')}` });
    await stack.waitForEnd(idle.jobId);
    const busy = await sup.start({
      prompt: `busy ${formatDirective('slow-stream', { count: 30, delay: 200 })}`,
    });
    const workspace = sup.sessions().find((s) => s.sessionId === idle.sessionId)!.workspaceDir;
    const { removedSessions } = await sup.cleanup({ olderThanSeconds: 0 });
    expect(removedSessions).toContain(idle.sessionId);
    expect(removedSessions).not.toContain(busy.sessionId);
    expect(sup.sessions().map((s) => s.sessionId)).toContain(busy.sessionId);
    await expect(readdir(workspace)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readdir(join(stack.config.sessionsDir as string, idle.sessionId))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(() => sup.status(idle.jobId)).toThrow(expect.objectContaining({ code: ErrorCodes.JOB_NOT_FOUND }));
    await sup.cancel(busy.jobId);
  });
});

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
      const deadline = Date.now() + 60_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
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
