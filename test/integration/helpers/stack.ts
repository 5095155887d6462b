import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMockApi, type MockApi, type MockApiOptions } from '../../../src/mock-api/index.js';
import type { ConfigInput } from '../../../src/shared/config.js';
import { openOwner } from '../../../src/supervisor/create.js';
import type { JobStatus } from '../../../src/supervisor/job-view.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { LABEL_OWNER } from '../../../src/runtime/labels.js';
import { CliEngine } from '../../../src/runtime/cli-engine.js';
import { toRuntimeSpec } from '../../../src/runtime/runtime-info.js';
import { testRuntimeConfig } from './runtime.js';
import { waitForEnd } from './wait.js';
import { releaseDisksUnder } from '../../fixtures/disks.js';

/** The key the tests' "host" holds; the proxy injects it, the container never sees it. */
export const TEST_API_KEY = 'sk-test-real-key-held-by-the-host';

export interface Stack {
  mock: MockApi;
  dir: string;
  config: ConfigInput;
  supervisor: Supervisor;
  /** A new supervisor on the same directories (after close or a crash). */
  restart(extra?: ConfigInput): Promise<Supervisor>;
  /** The job's final status; rejects when it has not ended within `timeoutMs` (default 90 s). */
  waitForEnd(jobId: string, sup?: Supervisor, timeoutMs?: number): Promise<JobStatus>;
  containersLeft(): Promise<string[]>;
  dispose(): Promise<void>;
}

/**
 * A real supervisor on temp directories, talking to the in-repo mock of the Messages API, on the
 * runtime the test run targets (CLAUDE_POD_TEST_ENGINE: docker needs `"runtime": "docker"`).
 */
export async function startStack(extra: ConfigInput = {}, mockOptions: MockApiOptions = {}): Promise<Stack> {
  const mock = await createMockApi({ host: '127.0.0.1', port: 0, ...mockOptions });
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-it-'));
  const config: ConfigInput = {
    sessionsDir: join(dir, 'sessions'),
    workspacesDir: join(dir, 'workspaces'),
    apiBaseUrl: mock.url ?? '',
    network: 'none',
    ...testRuntimeConfig(),
    startupTimeout: 90,
    idleTimeout: 90,
    cancelGraceSeconds: 2,
    ...extra,
  };
  const env = { ANTHROPIC_API_KEY: TEST_API_KEY };
  let supervisor = await openOwner(config, { env });
  let closed = false;
  const stack: Stack = {
    mock,
    dir,
    config,
    get supervisor() {
      return supervisor;
    },
    async restart(more = {}) {
      if (!closed) await supervisor.close().catch(() => undefined);
      supervisor = await openOwner({ ...config, ...more }, { env });
      closed = false;
      return supervisor;
    },
    waitForEnd(jobId, sup = supervisor, timeoutMs) {
      return waitForEnd(sup, jobId, timeoutMs);
    },
    async containersLeft() {
      const engine = new CliEngine(toRuntimeSpec(supervisor.runtime));
      return (await engine.list({ [LABEL_OWNER]: supervisor.ownerId })).map((c) => c.name);
    },
    async dispose() {
      await supervisor.close({ cancelRunning: true }).catch(() => undefined);
      await mock.close();
      await releaseDisksUnder(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** The last non-empty line of a job's output, parsed. */
export function lastEvent(content: string): Record<string, unknown> {
  const lines = content.split('\n').filter(Boolean);
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}
