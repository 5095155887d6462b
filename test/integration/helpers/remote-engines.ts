import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
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
  /** Runs the local podman on the service's storage (what the engine's host would do), for cleanup. */
  local(args: string[]): Promise<number>;
  /** Stops it and removes its directory (after its containers were removed). */
  dispose(): Promise<void>;
}

async function waitForSocket(path: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (
      await stat(path).then(
        (s) => s.isSocket(),
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`no socket at ${path} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `podman system service` on a fresh unix socket, with the OCI runtime that works here.
 * With `ownStorage`, the service keeps its containers and volumes in storage of its own (another
 * host, as far as they can tell), reading images from the default store (read-only).
 */
export async function startPodmanService(opts: { ownStorage?: boolean } = {}): Promise<PodmanService> {
  const rt = await detectRuntime({ runtime: 'podman', ociRuntime: 'auto' });
  const dir = await mkdtemp(join(tmpdir(), 'cpod-svc-'));
  const env: Record<string, string> = {};
  if (opts.ownStorage) {
    const conf = join(dir, 'storage.conf');
    await writeFile(
      conf,
      [
        '[storage]',
        'driver = "overlay"',
        `graphroot = "${join(dir, 'root')}"`,
        `runroot = "${join(dir, 'run')}"`,
        '[storage.options]',
        'additionalimagestores = ["/var/lib/containers/storage"]',
        '',
      ].join('\n'),
    );
    env.CONTAINERS_STORAGE_CONF = conf;
  }
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
      env,
    });
    await waitForSocket(socket);
  };
  await start();
  const service: PodmanService = {
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
    async local(args: string[]) {
      const r = await execa(rt.command, [...rt.globalArgs, ...args], { env, reject: false });
      return r.exitCode ?? -1;
    },
    async dispose() {
      await service.stop();
      if (opts.ownStorage) {
        await service.local(['rm', '-af', '-t', '0']);
        await service.local(['volume', 'prune', '-f']);
        // The overlay driver mounts its directory on itself: unmount it, or it stays busy.
        await execa('umount', [join(dir, 'root', 'overlay')], { reject: false });
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  return service;
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
