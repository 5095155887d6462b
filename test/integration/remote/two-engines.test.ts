/**
 * Two engines configured at once: two podman services, each with storage of its own (its own
 * containers and volumes: two hosts as far as they can tell), reached on their unix sockets with
 * the remote client. Eight jobs are spread across both by the placement policy (fewest jobs within
 * each engine's slots); one service is stopped while all eight run: only its jobs fail, with
 * ENGINE_UNREACHABLE naming it, and the other engine's jobs complete.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockApi, formatDirective, type MockApi } from '../../../src/mock-api/index.js';
import { engineChecks } from '../../../src/doctor/engine-checks.js';
import { LABEL_OWNER } from '../../../src/runtime/labels.js';
import { parseConfig, type ConfigInput } from '../../../src/shared/config.js';
import type { EngineConfigInput } from '../../../src/shared/engine-config.js';
import { openOwner } from '../../../src/supervisor/create.js';
import { releaseDisksUnder } from '../../fixtures/disks.js';
import {
  remoteEngine,
  remoteHasImage,
  requireOrSkip,
  startPodmanService,
} from '../helpers/remote-engines.js';
import { TEST_API_KEY } from '../helpers/stack.js';
import { waitForEnd, waitForStatus } from '../helpers/wait.js';

const apiEnv = { ANTHROPIC_API_KEY: TEST_API_KEY };
const a = await startPodmanService({ ownStorage: true }).catch(() => null);
const b = await startPodmanService({ ownStorage: true }).catch(() => null);
const engineA: EngineConfigInput | null = a
  ? { name: 'east', kind: 'podman', url: a.url, maxConcurrentJobs: 4 }
  : null;
const engineB: EngineConfigInput | null = b
  ? { name: 'west', kind: 'podman', url: b.url, maxConcurrentJobs: 4 }
  : null;
const ok =
  engineA !== null && engineB !== null && (await remoteHasImage(engineA)) && (await remoteHasImage(engineB));
const skip = requireOrSkip('two podman services', ok);

afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
});

describe.skipIf(skip !== '')(`two engines at once${skip}`, () => {
  let mock: MockApi;
  let dir: string;
  beforeAll(async () => {
    mock = await createMockApi({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-two-engines-'));
  });
  afterAll(async () => {
    await mock?.close();
    await releaseDisksUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('8 jobs spread 4 + 4; one engine stopped mid-run fails only its jobs (ENGINE_UNREACHABLE), the others complete', async () => {
    const config: ConfigInput = {
      sessionsDir: join(dir, 'sessions'),
      workspacesDir: join(dir, 'workspaces'),
      apiBaseUrl: mock.url ?? '',
      engines: [engineA!, engineB!],
      maxConcurrentJobs: 8,
      startupTimeout: 120,
      idleTimeout: 180,
      metricsIntervalSeconds: 2,
      engineUnreachableSeconds: 8,
      cancelGraceSeconds: 2,
    };
    const sup = await openOwner(config, { env: apiEnv });
    try {
      const jobs: string[] = [];
      for (let i = 0; i < 8; i++) {
        const { jobId } = await sup.start({
          prompt: `Job ${i}. ${formatDirective('bash', {
            command: `echo start-${i}; sleep 45; echo end-${i} > /workspace/end.txt`,
            description: 'work a while',
          })}`,
        });
        jobs.push(jobId);
      }
      // All eight run at once: the policy put four on each engine (fewest jobs first).
      const running = await Promise.all(
        jobs.map((jobId) => waitForStatus(sup, jobId, (s) => s.status === 'running', 'running', 150_000)),
      );
      const on = (name: string) => running.filter((s) => s.engine === name).map((s) => s.jobId);
      expect(on('east')).toHaveLength(4);
      expect(on('west')).toHaveLength(4);
      // Each engine holds exactly the containers of its jobs.
      const east = await remoteEngine(engineA!);
      const west = await remoteEngine(engineB!);
      const names = async (e: typeof east) =>
        (await e.list({ [LABEL_OWNER]: sup.ownerId })).map((c) => c.labels['io.claude-pod.job']).sort();
      expect(await names(east)).toEqual(on('east').sort());
      expect(await names(west)).toEqual(on('west').sort());

      // doctor checks each engine through its own client.
      const doctor = async () => (await engineChecks(parseConfig(config))).map((c) => [c.id, c.status]);
      expect(await doctor()).toEqual([
        ['engine-east', 'ok'],
        ['engine-west', 'ok'],
      ]);

      // "west" goes away while every job still runs (they sleep 45 s).
      await b!.stop();
      expect(await doctor()).toEqual([
        ['engine-east', 'ok'],
        ['engine-west', 'fail'],
      ]);
      const finals = await Promise.all(jobs.map((jobId) => waitForEnd(sup, jobId, 240_000)));
      for (const f of finals) {
        if (f.engine === 'east') {
          expect(f.status, f.error ?? '').toBe('completed');
        } else {
          expect(f.status).toBe('failed');
          expect(f.errorCode).toBe('ENGINE_UNREACHABLE');
          expect(f.error).toContain('west');
        }
      }
      // What the east jobs wrote came back to their workspaces.
      for (const f of finals.filter((s) => s.engine === 'east')) {
        const ws = sup.sessions().find((s) => s.sessionId === f.sessionId)!.workspaceDir;
        expect(await readFile(join(ws, 'end.txt'), 'utf8')).toMatch(/^end-\d\n$/);
      }
      expect(await east.list({ [LABEL_OWNER]: sup.ownerId })).toEqual([]);
    } finally {
      await sup.close();
    }
  }, 420_000);
});
