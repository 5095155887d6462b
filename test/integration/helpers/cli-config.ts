import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMockApi } from '../../../src/mock-api/index.js';
import { LABEL_OWNER } from '../../../src/runtime/labels.js';
import { ownerIdFor } from '../../../src/supervisor/owner.js';
import { releaseDisksUnder } from '../../fixtures/disks.js';
import { reapByLabel, type RuntimeAvailability } from './runtime.js';

/**
 * What a user's program or `claude-pod` command needs: a mock model API on loopback and a fresh
 * directory (`prefix`) holding a config.json for it (sessions and workspaces inside the
 * directory; `extra` adds settings). dispose() reaps the containers of its sessions, closes the
 * mock, releases its disks and removes the directory.
 */
export async function startCliConfig(env: RuntimeAvailability, prefix: string, extra: object = {}) {
  const mock = await createMockApi({ host: '127.0.0.1', port: 0 });
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      image: env.available ? env.image : undefined,
      sessionsDir: join(dir, 'sessions'),
      workspacesDir: join(dir, 'workspaces'),
      apiBaseUrl: mock.url,
      network: 'none',
      startupTimeout: 90,
      idleTimeout: 90,
      ...extra,
    }),
  );
  return {
    dir,
    configPath,
    async dispose(): Promise<void> {
      if (env.available) await reapByLabel(env.engine, `${LABEL_OWNER}=${ownerIdFor(join(dir, 'sessions'))}`);
      await mock.close();
      await releaseDisksUnder(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
