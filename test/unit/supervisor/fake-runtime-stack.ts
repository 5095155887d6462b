import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RuntimeInfo } from '../../../src/runtime/runtime-info.js';
import { fakeRuntimeInfo as sharedRuntimeInfo, inertApiGate } from '../../fixtures/fake-runtime-info.js';
import { testWorkerThreadsConfig } from '../../fixtures/worker-threads.js';
import type { ConfigInput } from '../../../src/shared/config.js';
import type { ApiGate } from '../../../src/supervisor/api-gate.js';
import { openOwner, type CreateSupervisorOptions } from '../../../src/supervisor/create.js';
import type { JobStatus } from '../../../src/supervisor/job-view.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';

export const FAKE_RUNTIME = resolve('test/fixtures/fake-runtime.mjs');

export const fakeRuntimeInfo = (): RuntimeInfo => sharedRuntimeInfo(FAKE_RUNTIME);
export const fakeApiGate = (): ApiGate => inertApiGate('unit-test-token');

export async function fakeStack(config: ConfigInput = {}, options: CreateSupervisorOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-unit-'));
  const sup: Supervisor = await openOwner(
    {
      sessionsDir: join(dir, 'sessions'),
      workspacesDir: join(dir, 'workspaces'),
      metricsIntervalSeconds: 0.5,
      ...testWorkerThreadsConfig(),
      ...config,
    },
    { runtime: fakeRuntimeInfo(), apiGate: fakeApiGate(), ...options },
  );
  return {
    dir,
    sup,
    waitForEnd(jobId: string): Promise<JobStatus> {
      return new Promise((resolve) => {
        const now = sup.status(jobId);
        if (['completed', 'failed', 'cancelled'].includes(now.status)) return resolve(now);
        const on = (s: JobStatus) => s.jobId === jobId && (sup.off('job:end', on), resolve(s));
        sup.on('job:end', on);
      });
    },
    async dispose() {
      await sup.close({ cancelRunning: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
