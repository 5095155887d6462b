import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobSpec, WorkerMessage } from '../../../src/shared/protocol.js';
import { JobRunner } from '../../../src/workers/job-runner.js';

const FAKE_RUNTIME = resolve('test/fixtures/fake-runtime.mjs');
const dir = mkdtempSync(join(tmpdir(), 'claude-pod-runner-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const init = '{"type":"system","subtype":"init","session_id":"s-lines","model":"m"}\n';
const longResult = JSON.stringify({ type: 'result', subtype: 'success', result: 'L'.repeat(200_000) }) + '\n';
const finalResult = '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"Done."}\n';
const stream = init + longResult + finalResult;
const streamFile = join(dir, 'stream.jsonl');
writeFileSync(streamFile, stream);

let n = 0;
function spec(extra: Partial<JobSpec>): JobSpec {
  const name = `claude-pod-lines-${process.pid}-${++n}`;
  return {
    jobId: `job-${n}`,
    sessionId: 'session',
    mode: 'run',
    runtime: {
      kind: 'podman',
      command: FAKE_RUNTIME,
      globalArgs: [],
      env: { FAKE_RUNTIME_STATE: join(dir, 'runtime-state') },
    },
    containerName: name,
    container: {
      name,
      image: 'image',
      labels: {},
      memory: '512m',
      cpus: '1',
      pidsLimit: 64,
      tmpfsSize: '16m',
      network: 'none',
      apparmorProfile: '',
      user: '1000:1000',
      mounts: [],
      env: { FAKE_STREAM: streamFile },
      secretEnv: {},
      workdir: '/',
      command: ['claude'],
    },
    outputPath: join(dir, String(n), 'output.jsonl'),
    maxOutputSize: 0,
    startupTimeoutSeconds: 30,
    idleTimeoutSeconds: 30,
    metricsIntervalMs: 60_000,
    cancelGraceMs: 1000,
    progressIntervalMs: 10,
    image: 'image',
    ...extra,
  };
}

/** A runner that is told to launch as soon as it is ready, as the supervisor does. */
function runToEnd(job: JobSpec, post: (m: WorkerMessage) => void) {
  const runner: JobRunner = new JobRunner(job, (m) => {
    post(m);
    if (m.type === 'ready') queueMicrotask(() => runner.handle({ type: 'launch', jobId: job.jobId }));
  });
  return runner.run();
}

describe('JobRunner: the line limit of the job spec (fake runtime)', () => {
  it("cuts lines over the spec's maxLineBytes and reports them in progress.linesCut", async () => {
    const messages: WorkerMessage[] = [];
    const job = spec({ maxLineBytes: 64 * 1024 });
    const outcome = await runToEnd(job, (m) => messages.push(m));
    expect(outcome.status, JSON.stringify(outcome.error)).toBe('completed');
    expect(outcome.progress).toMatchObject({ lines: 3, linesCut: 1, events: 2 });
    expect(outcome.progress.claude.result).toBe('Done.');
    expect(readFileSync(job.outputPath, 'utf8')).toBe(stream);
  });

  it('without maxLineBytes in the spec, the default (4 MiB) applies', async () => {
    const outcome = await runToEnd(spec({}), () => undefined);
    expect(outcome.progress).toMatchObject({ lines: 3, linesCut: 0, events: 3 });
  });
});
