import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { CliEngine } from '../../../src/runtime/cli-engine.js';
import { detectRuntime, findRuntimeClient } from '../../../src/runtime/detect.js';
import type { ContainerEngine } from '../../../src/runtime/engine.js';
import { remoteRuntimeSpec } from '../../../src/runtime/remote-spec.js';
import { DEFAULT_IMAGE } from '../../../src/shared/config.js';
import type { EngineConfigInput } from '../../../src/shared/engine-config.js';
import { engineConfigSchema } from '../../../src/shared/engine-config.js';
import { isCI } from './runtime.js';

/** A podman API service this test started on its own unix socket (`podman system service`). */
export interface PodmanService {
  url: string;
  socket: string;
  /** Stops the service (SIGTERM); its containers live on under conmon. */
  stop(): Promise<void>;
  /** Starts it again on the same socket. */
  restart(): Promise<void>;
}

async function waitForSocket(path: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await stat(path).then((s) => s.isSocket(), () => false)) return;
    if (Date.now() > deadline) throw new Error(`no socket at ${path} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `podman system service` on a fresh unix socket, with the OCI runtime that works here. */
export async function startPodmanService(): Promise<PodmanService> {
  const rt = await detectRuntime({ runtime: 'podman', ociRuntime: 'auto' });
  const dir = await mkdtemp(join(tmpdir(), 'cpod-svc-'));
  const socket = join(dir, 'podman.sock');
  const url = `unix://${socket}`;
  let child: ResultPromise | null = null;
  const start = async () => {
    await rm(socket, { force: true });
    child = execa(rt.command, [...rt.globalArgs, 'system', 'service', '--time', '0', url], {
      reject: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'ignore',
      cleanup: true,
    });
    await waitForSocket(socket);
  };
  await start();
  return {
    url,
    socket,
    async stop() {
      const c = child;
      child = null;
      if (!c) return;
      c.kill('SIGTERM');
      await c;
      await rm(socket, { force: true });
    },
    restart: start,
  };
}

/** Docker Engine through DOCKER_HOST (its socket), when it answers here. */
export async function dockerHost(): Promise<string | null> {
  const host = 'unix:///var/run/docker.sock';
  const client = await findRuntimeClient('docker');
  if (!client) return null;
  const r = await execa(client, ['version', '--format', '{{.Server.Version}}'], {
    reject: false,
    env: { DOCKER_HOST: host },
    timeout: 20_000,
  });
  return r.exitCode === 0 ? host : null;
}

/** A client of a configured remote engine, as the supervisor builds it (for checks and reaping). */
export async function remoteEngine(config: EngineConfigInput): Promise<ContainerEngine> {
  return new CliEngine(await remoteRuntimeSpec(engineConfigSchema.parse(config)));
}

/** Whether the image is in a remote engine's store. */
export async function remoteHasImage(config: EngineConfigInput, image = DEFAULT_IMAGE): Promise<boolean> {
  return (await remoteEngine(config)).imageExists(image).catch(() => false);
}

/** Skip locally when the remote engine is missing; under CI that is a failure. */
export function requireOrSkip(what: string, ok: boolean): string {
  if (ok) return '';
  if (isCI()) throw new Error(`${what} is not available`);
  return ` [skipped: ${what} not available]`;
}
