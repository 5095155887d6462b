/**
 * The job lifecycle on remote engines, through the engines' own remote mechanisms and the remote
 * code path (volumes seeded from and copied back to this host, the model API through the relay
 * tunnel over the engine's exec channel, output from the engine's log API):
 *
 * - podman: a `podman system service` this test starts on its own unix socket, reached with the
 *   remote client (`podman --remote --url unix://…`);
 * - docker: Docker Engine reached through DOCKER_HOST.
 *
 * Start, status with metrics, output, files both ways, `--resume` of the session (its transcripts
 * live in a volume), cancel, and kill -9 of the supervisor mid-stream with a byte-exact re-attach.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockApi, formatDirective, type MockApi } from '../../../src/mock-api/index.js';
import type { ContainerEngine } from '../../../src/runtime/engine.js';
import { containerNameFor, LABEL_OWNER } from '../../../src/runtime/labels.js';
import { remoteRuntimeSpec } from '../../../src/runtime/remote-spec.js';
import type { ConfigInput } from '../../../src/shared/config.js';
import { engineConfigSchema, type EngineConfigInput } from '../../../src/shared/engine-config.js';
import { openOwner } from '../../../src/supervisor/create.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { releaseDisksUnder } from '../../fixtures/disks.js';
import { captureContainerLog, crashScenario, spawnSupervisorChild } from '../helpers/crash.js';
import {
  dockerHost,
  remoteEngine,
  remoteHasImage,
  requireOrSkip,
  startPodmanService,
  type PodmanService,
} from '../helpers/remote-engines.js';
import { TEST_API_KEY } from '../helpers/stack.js';
import { eventually, waitForEnd, waitForStatus } from '../helpers/wait.js';

const apiEnv = { ANTHROPIC_API_KEY: TEST_API_KEY };
const which = process.env.CLAUDE_POD_TEST_REMOTE; // podman | docker | anything else (1, all): both

let service: PodmanService | null = null;
const podmanWanted = which !== 'docker';
const dockerWanted = which !== 'podman';
if (podmanWanted) service = await startPodmanService().catch(() => null);
const docker = dockerWanted ? await dockerHost() : null;

const targets: Array<{ title: string; engine: EngineConfigInput | null; skip: string }> = [];
if (podmanWanted) {
  const engine: EngineConfigInput | null = service ? { name: 'svc', kind: 'podman', url: service.url } : null;
  const ok = engine !== null && (await remoteHasImage(engine));
  targets.push({
    title: 'podman service (unix socket)',
    engine,
    skip: requireOrSkip('a podman service', ok),
  });
}
if (dockerWanted) {
  const engine: EngineConfigInput | null = docker ? { name: 'dock', kind: 'docker', host: docker } : null;
  const ok = engine !== null && (await remoteHasImage(engine));
  targets.push({ title: 'Docker Engine (DOCKER_HOST)', engine, skip: requireOrSkip('Docker Engine', ok) });
}

afterAll(async () => {
  await service?.dispose();
});

/** The container as the engine reports it (mounts, env), through the same remote client. */
async function inspectRaw(engine: EngineConfigInput, name: string): Promise<Record<string, unknown>> {
  const rt = await remoteRuntimeSpec(engineConfigSchema.parse(engine));
  const r = await execa(rt.command, [...rt.globalArgs, 'container', 'inspect', name], {
    env: { PATH: process.env.PATH ?? '', ...(rt.env ?? {}) },
    extendEnv: false,
  });
  return (JSON.parse(r.stdout) as Array<Record<string, unknown>>)[0]!;
}

/** The session volumes of an owner left on the engine. */
async function sessionVolumes(engine: EngineConfigInput, ownerId: string): Promise<string[]> {
  const rt = await remoteRuntimeSpec(engineConfigSchema.parse(engine));
  const r = await execa(rt.command, [...rt.globalArgs, 'volume', 'ls', '--format', '{{.Name}}'], {
    env: { PATH: process.env.PATH ?? '', ...(rt.env ?? {}) },
    extendEnv: false,
  });
  return r.stdout.split('\n').filter((n) => n.startsWith(`cpod-${ownerId.slice(0, 12)}-`));
}

for (const target of targets) {
  describe.skipIf(target.skip !== '')(`remote engine: ${target.title}${target.skip}`, () => {
    const engineConfig = target.engine!;
    let mock: MockApi;
    let dir: string;
    let engine: ContainerEngine;
    const configs: ConfigInput[] = [];
    beforeAll(async () => {
      mock = await createMockApi({ host: '127.0.0.1', port: 0 });
      dir = await mkdtemp(join(tmpdir(), 'claude-pod-remote-'));
      engine = await remoteEngine(engineConfig);
    });
    afterAll(async () => {
      await mock?.close();
      // Reap what the runs left on the engine: containers and the sessions' volumes.
      for (const c of configs) {
        const sup = await openOwner(c, { env: apiEnv, serveControl: false }).catch(() => null);
        if (!sup) continue;
        await sup.cleanup({ olderThanSeconds: 0 }).catch(() => undefined);
        for (const row of await engine.list({ [LABEL_OWNER]: sup.ownerId }).catch(() => []))
          await engine.remove(row.name);
        await sup.close();
      }
      await releaseDisksUnder(dir);
      await rm(dir, { recursive: true, force: true });
    });

    const configFor = (name: string, extra: ConfigInput = {}): ConfigInput => {
      const c: ConfigInput = {
        sessionsDir: join(dir, name, 'sessions'),
        workspacesDir: join(dir, name, 'workspaces'),
        apiBaseUrl: mock.url ?? '',
        engines: [engineConfig],
        startupTimeout: 90,
        idleTimeout: 90,
        cancelGraceSeconds: 2,
        metricsIntervalSeconds: 1,
        ...extra,
      };
      configs.push(c);
      return c;
    };

    it('a job: volumes seeded and copied back, metrics, output, no host path or credential in the container; --resume', async () => {
      const config = configFor('life');
      const sup: Supervisor = await openOwner(config, { env: apiEnv });
      try {
        const first = await sup.start({
          prompt: `Remember PINEAPPLE. ${formatDirective('bash', {
            command: 'echo written-there > /workspace/there.txt; sleep 4; echo done',
            description: 'write and wait',
          })}`,
        });
        const running = await waitForStatus(
          sup,
          first.jobId,
          (s) => s.status === 'running' && s.metrics !== null,
          'running, with a metrics sample',
        );
        expect(running.status).toBe('running');
        expect(running.metrics!.source).toBe('stats');
        expect(running.metrics!.memoryBytes).toBeGreaterThan(1024 * 1024);
        // The container sees no path of this host and no socket of it: volumes only.
        const raw = await inspectRaw(engineConfig, containerNameFor(first.jobId));
        const mounts = (raw.Mounts as Array<{ Type: string; Source: string; Name?: string }>) ?? [];
        expect(mounts.map((m) => m.Type).sort()).toEqual(['volume', 'volume', 'volume']);
        for (const m of mounts) expect(m.Source.startsWith(dir)).toBe(false);
        const envs = ((raw.Config as { Env?: string[] }).Env ?? []).join('\n');
        expect(envs).not.toContain(TEST_API_KEY);
        expect(envs).toContain('CLAUDE_POD_API_RELAY=1');

        const one = await waitForEnd(sup, first.jobId);
        expect(one.status, one.error ?? '').toBe('completed');
        const page = await sup.output(first.jobId, { limit: 1024 * 1024 });
        expect(page.size).toBe(one.outputSize);
        expect(page.content).toContain('"type":"result"');
        // Copied back: what the job wrote is in the workspace here.
        const workspace = sup.sessions().find((s) => s.sessionId === first.sessionId)!.workspaceDir;
        expect(await readFile(join(workspace, 'there.txt'), 'utf8')).toBe('written-there\n');
        // The real key reached the API; the container only ever had its token.
        expect(new Set(mock.requests.map((r) => r.headers['x-api-key']))).toEqual(new Set([TEST_API_KEY]));

        // A file written here before the next job is seeded into its volume; the session resumes.
        await writeFile(join(workspace, 'here.txt'), 'written-here\n');
        const second = await sup.start({
          sessionId: first.sessionId,
          prompt: `What was the word? ${formatDirective('bash', {
            command: 'cat /workspace/here.txt /workspace/there.txt > /workspace/both.txt',
            description: 'copy',
          })}`,
        });
        const two = await waitForEnd(sup, second.jobId);
        expect(two.status, two.error ?? '').toBe('completed');
        expect(two.claude.sessionId).toBe(one.claude.sessionId);
        expect(await readFile(join(workspace, 'both.txt'), 'utf8')).toBe('written-here\nwritten-there\n');
        const req = mock.requests.filter((r) => JSON.stringify(r.body).includes('What was the word?')).pop();
        expect(JSON.stringify(req?.body)).toContain('PINEAPPLE');
        expect(await engine.list({ [LABEL_OWNER]: sup.ownerId })).toEqual([]);
        // Copied back, the session's volumes are gone from the engine (no leak per job).
        expect(await sessionVolumes(engineConfig, sup.ownerId)).toEqual([]);
      } finally {
        await sup.close();
      }
    }, 180_000);

    it('cancel: SIGINT, the grace period, then the container is removed; the job ends cancelled', async () => {
      const config = configFor('cancel');
      const sup = await openOwner(config, { env: apiEnv });
      try {
        const { jobId } = await sup.start({
          prompt: `Wait. ${formatDirective('bash', { command: 'sleep 600', description: 'wait' })}`,
        });
        await waitForStatus(sup, jobId, (s) => s.status === 'running' && s.outputSize > 0, 'running');
        const t0 = Date.now();
        const final = await sup.cancel(jobId);
        expect(final).toMatchObject({ status: 'cancelled', errorCode: 'CANCELLED' });
        expect(Date.now() - t0).toBeLessThan(30_000);
        expect(await engine.inspect(containerNameFor(jobId))).toBeNull();
      } finally {
        await sup.close();
      }
    }, 120_000);

    it('kill -9 of the supervisor mid-stream: a new one re-attaches through the log API, output byte for byte', async () => {
      const crashMock = await createMockApi({ host: '127.0.0.1', port: 0, scenario: crashScenario() });
      try {
        const config = { ...configFor('crash'), apiBaseUrl: crashMock.url ?? '' };
        const child = await spawnSupervisorChild(config, 'crash test', apiEnv);
        const started = await child.waitFor((l) => l.event === 'started');
        const jobId = String(started.jobId);
        const truth = captureContainerLog(engine, containerNameFor(jobId));
        await child.waitFor((l) => l.event === 'progress' && Number(l.outputSize) > 0);
        await crashMock.waitForRequest((r) => JSON.stringify(r.body ?? '').includes('tool_result'), 60_000);
        await child.kill9();
        const sup = await openOwner(config, { env: apiEnv });
        try {
          const final = await waitForEnd(sup, jobId);
          expect(final.status, final.error ?? '').toBe('completed');
          const output = await sup.output(jobId, { limit: 1024 * 1024 });
          expect(output.hasMore).toBe(false);
          expect(Buffer.from(output.content)).toEqual(await truth);
          await eventually('no container left', async () =>
            (await engine.list({ [LABEL_OWNER]: sup.ownerId })).length === 0 ? true : undefined,
          );
        } finally {
          await sup.close();
        }
      } finally {
        await crashMock.close();
      }
    }, 180_000);
  });
}
