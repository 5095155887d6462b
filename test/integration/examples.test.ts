/**
 * The two programs in examples/ run as a user would run them (`node examples/…`, importing the
 * built package by its name), against the real runtime and image with the mock model API. The
 * SSE server is read by a real HTTP client, event by event.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { startCliConfig } from './helpers/cli-config.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';

const run = promisify(execFile);
const env = await requireRuntime();
const repo = resolve(import.meta.dirname, '../..');

interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads a text/event-stream response into events until the server closes it. */
async function readEvents(res: Response, onEvent: (e: SseEvent) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      onEvent({ event, data: JSON.parse(data) });
    }
  }
}

describe.skipIf(!env.available)(`examples/${skipNote(env)}`, () => {
  let dir: string;
  let configPath: string;
  let dispose: (() => Promise<void>) | undefined;
  const childEnv = { ...process.env, ANTHROPIC_API_KEY: 'sk-test-examples' };

  beforeAll(async () => {
    // The examples import 'claude-pod', which resolves to this package's dist/.
    await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repo });
    ({ dir, configPath, dispose } = await startCliConfig(env, 'claude-pod-examples-'));
    await chmod(dir, 0o755);
  }, 300_000);

  afterAll(async () => {
    await dispose?.();
  });

  it('sse-server.mjs starts a job over HTTP and streams its events to the client', async () => {
    const server = spawn(process.execPath, [join(repo, 'examples', 'sse-server.mjs'), configPath], {
      cwd: repo,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    try {
      const lines = createInterface({ input: server.stdout });
      const url = await new Promise<string>((resolveUrl, reject) => {
        lines.on(
          'line',
          (l) => /^listening on (http:\S+)$/.test(l) && resolveUrl(l.slice('listening on '.length)),
        );
        void exited.then((code) => reject(new Error(`sse-server exited ${code}`)));
      });
      expect((await fetch(url)).headers.get('content-type')).toMatch(/^text\/html/);
      const prompt = `Write it ${formatDirective('write-file', { path: 'sse.txt', content: 'from sse\n' })}`;
      const started = await fetch(`${url}/jobs`, { method: 'POST', body: prompt });
      expect(started.status).toBe(201);
      const { jobId } = (await started.json()) as { jobId: string };

      const res = await fetch(`${url}/jobs/${jobId}/events`);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const events: SseEvent[] = [];
      await readEvents(res, (e) => events.push(e));

      const names = events.map((e) => e.event);
      expect(names[0]).toBe('status');
      expect(names.at(-1)).toBe('end');
      expect(names.filter((n) => n === 'end')).toHaveLength(1);
      const output = events.filter((e) => e.event === 'output').map((e) => e.data as Record<string, unknown>);
      expect(output[0]).toMatchObject({ type: 'system', subtype: 'init' });
      expect(JSON.stringify(output)).toContain('"name":"Write"');
      expect(output.at(-1)).toMatchObject({ type: 'result', subtype: 'success' });
      expect(events.at(-1)!.data).toMatchObject({ jobId, status: 'completed', exitCode: 0 });

      expect((await fetch(`${url}/jobs/job-nope-0/events`)).status).toBe(404);
    } finally {
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('parallel-jobs.mjs runs three jobs at once and prints their summaries', async () => {
    const prompts = [
      `one ${formatDirective('write-file', { path: 'one.txt', content: '1' })}`,
      `two ${formatDirective('echo', { text: 'second done' })}`,
      `three ${formatDirective('bash', { command: 'echo 3', text: 'third done' })}`,
    ];
    const { stdout } = await run(
      process.execPath,
      [join(repo, 'examples', 'parallel-jobs.mjs'), configPath, ...prompts],
      {
        cwd: repo,
        env: childEnv,
        timeout: 240_000,
      },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^1\. job-\S+ completed in [\d.]+s, 2 turns, \$\d+\.\d{4}: Done\.$/);
    expect(lines[1]).toMatch(/^2\. job-\S+ completed in [\d.]+s, 1 turns, \$\d+\.\d{4}: second done$/);
    expect(lines[2]).toMatch(/^3\. job-\S+ completed in [\d.]+s, 2 turns, \$\d+\.\d{4}: third done$/);
    // Three different jobs (each in its own session and container).
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(3);
  });
});
