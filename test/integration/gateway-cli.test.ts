/**
 * A gateway-style host (another process that owns the state directory, as OpenClaw with the
 * plugin does) and the CLI on the same directory: the CLI's commands are clients of the
 * gateway and see and act on its jobs — real runtime, image and Claude Code, mock API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseDisksUnder } from '../fixtures/disks.js';
import { createMockApi, formatDirective, type MockApi } from '../../src/mock-api/index.js';
import { LABEL_OWNER } from '../../src/runtime/labels.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import { ownerIdFor } from '../../src/supervisor/owner.js';
import { cliFor, lockHolderPid, spawnOwner, type OwnerChild } from './helpers/processes.js';
import { reapByLabel, requireRuntime, skipNote } from './helpers/runtime.js';

const env = await requireRuntime();
const key = { ANTHROPIC_API_KEY: 'sk-dummy-gateway-test-key' };

describe.skipIf(!env.available)(`a gateway and the CLI on one directory${skipNote(env)}`, () => {
  let mock: MockApi;
  let dir: string;
  let gateway: OwnerChild | null = null;
  beforeAll(async () => {
    mock = await createMockApi({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-gw-'));
  });
  afterAll(async () => {
    await gateway?.kill('SIGKILL');
    if (env.available) await reapByLabel(env.engine, `${LABEL_OWNER}=${ownerIdFor(join(dir, 'sessions'))}`);
    await mock?.close();
    await releaseDisksUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('CLI status, run and cancel act on the jobs of the process that owns the directory', async () => {
    const config = {
      sessionsDir: join(dir, 'sessions'),
      workspacesDir: join(dir, 'workspaces'),
      apiBaseUrl: mock.url ?? '',
      network: 'none',
      cancelGraceSeconds: 1,
      ...(env.available ? { image: env.image } : {}),
    };
    gateway = spawnOwner(
      config,
      { prompt: `long ${formatDirective('slow-stream', { count: 150, delay: 200 })}` },
      key,
    );
    const { jobId } = (await gateway.waitFor((l) => l.event === 'started', 30_000)) as { jobId: string };
    await gateway.waitFor((l) => l.event === 'running' && l.jobId === jobId, 60_000);
    const cli = await cliFor(config, dir, key);

    const status = await cli.json<{ jobId: string; status: string }>(['status', jobId]);
    expect(status).toMatchObject({ jobId, status: 'running' });

    // A job the CLI starts runs in the gateway (no daemon of its own: the gateway holds the lock).
    const started = await cli.json<{ jobId: string }>([
      'run',
      '--detach',
      `quick ${formatDirective('echo')}`,
    ]);
    const end = await gateway.waitFor((l) => l.event === 'end' && l.jobId === started.jobId, 60_000);
    expect(end.status).toBe('completed');
    expect(lockHolderPid(config.sessionsDir)).toBe(gateway.child.pid);

    const cancelled = await cli.json<{ status: string; errorCode: string }>(['cancel', jobId]);
    expect(cancelled).toMatchObject({ status: 'cancelled', errorCode: ErrorCodes.CANCELLED });
    const ended = await gateway.waitFor((l) => l.event === 'end' && l.jobId === jobId, 30_000);
    expect(ended.status).toBe('cancelled');
  });
});
