import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, type Stack } from './helpers/stack.js';

const env = await requireRuntime();

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
    // The model-API proxy's own state (another process) settles the earlier jobs' revocations
    // at its own pace; the ids under test never reach it.
    const listing = async () =>
      (await readdir(stack.dir, { recursive: true })).filter(
        (p) => !p.startsWith(join('sessions', '.proxy')),
      );
    const before = await listing();
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
    expect(await listing()).toEqual(before);
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
