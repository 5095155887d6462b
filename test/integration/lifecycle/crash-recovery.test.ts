import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseDisksUnder } from '../../fixtures/disks.js';
import { jobLikeSpec } from '../../../src/doctor/job-like-spec.js';
import { createMockApi, type MockApi } from '../../../src/mock-api/index.js';
import { containerNameFor, LABEL_OWNER } from '../../../src/runtime/labels.js';
import { parseConfig, type ConfigInput } from '../../../src/shared/config.js';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { openOwner } from '../../../src/supervisor/create.js';
import {
  captureContainerLog,
  crashScenario,
  normalizeStream,
  spawnSupervisorChild,
} from '../helpers/crash.js';
import {
  mustHave,
  requireRuntime,
  skipNote,
  TEST_RUN_LABEL,
  testRunId,
  testRuntimeConfig,
} from '../helpers/runtime.js';
import { TEST_API_KEY } from '../helpers/stack.js';
import { eventually, waitForEnd } from '../helpers/wait.js';

const env = await requireRuntime();
const apiEnv = { ANTHROPIC_API_KEY: TEST_API_KEY };

describe.skipIf(!env.available)(`crash recovery (real runtime and CLI)${skipNote(env)}`, () => {
  const rt = mustHave.bind(null, env);
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
    ...testRuntimeConfig(),
    sessionsDir: join(dir, name, 'sessions'),
    workspacesDir: join(dir, name, 'workspaces'),
    apiBaseUrl: mock.url ?? '',
    network: 'none',
  });

  /** The same job with no crash, for comparison (the CLI's uuids/ids differ run to run). */
  let reference: Promise<string> | null = null;
  /** Run once, shared by both variants. */
  const uncrashedOutput = () => (reference ??= uncrashedRun());
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
      const truth = captureContainerLog(rt().engine, containerName);
      // Some output is on disk, and the final model turn is streaming: now crash.
      await child.waitFor((l) => l.event === 'progress' && Number(l.outputSize) > 0);
      await mock.waitForRequest((r) => JSON.stringify(r.body ?? '').includes('tool_result'), 60_000);
      await child.kill9();

      if (variant === 'finished while down') {
        await eventually('the container to finish', async () =>
          (await rt().engine.inspect(containerName))?.status === 'exited' ? true : undefined,
        );
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
        expect(normalizeStream(output.content)).toEqual(normalizeStream(await uncrashedOutput()));
        expect(await rt().engine.list({ [LABEL_OWNER]: sup.ownerId })).toEqual([]);
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
    const { engine } = rt();
    await engine.remove(containerNameFor(jobId));
    const sup = await openOwner(config, { env: apiEnv });
    const stray = `claude-pod-stray-${testRunId}`;
    try {
      // A container with our owner label that no job knows: reaped on the next start.
      const strayStream = engine.run(
        await jobLikeSpec({
          config: parseConfig({ ...config, image: rt().image }),
          runtime: rt().spec,
          name: stray,
          command: ['sleep', '600'],
          labels: { [LABEL_OWNER]: sup.ownerId, [TEST_RUN_LABEL]: testRunId },
          dir: join(dir, 'stray'),
        }),
      );
      await eventually('the stray container to run', async () =>
        (await engine.inspect(stray))?.status === 'running' ? true : undefined,
      );
      strayStream.detach();
      expect(sup.status(jobId)).toMatchObject({ status: 'failed', errorCode: ErrorCodes.CONTAINER_LOST });
      await sup.close();
      const again = await openOwner(config, { env: apiEnv });
      await again.close();
      expect(await engine.inspect(stray)).toBeNull();
    } finally {
      await engine.remove(stray);
    }
  });
});
