/**
 * Start overhead of one engine, two ways: its CLI client (`run` attached, as CliEngine does)
 * against its REST API over the unix socket (create → attach → start, as a REST engine would).
 * Measures spawn/request → first stdout byte of a trivial container with the job's hardening
 * flags. Not part of `npm run bench`; run it by hand:
 *
 *   npx tsx bench/engine-start.ts podman|docker [runs]
 *
 * For podman, the REST side needs `podman system service` (a daemon) on a socket; this script
 * starts one for the measurement and stops it afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectRuntime } from '../src/runtime/detect.js';
import { buildRunArgs } from '../src/runtime/run-args.js';
import { DEFAULT_IMAGE } from '../src/shared/config.js';
import type { ContainerSpec } from '../src/shared/protocol.js';
import { median, round } from './stats.js';

const kind = (process.argv[2] ?? 'podman') as 'podman' | 'docker';
const runs = Number(process.argv[3] ?? 10);

const spec = (name: string): ContainerSpec => ({
  name,
  image: DEFAULT_IMAGE,
  labels: { 'io.claude-pod.bench': 'engine-start' },
  memory: '512m',
  cpus: '1.0',
  pidsLimit: 512,
  tmpfsSize: '64m',
  network: 'none',
  apparmorProfile: '',
  user: '1000:1000',
  mounts: [],
  env: {},
  secretEnv: {},
  workdir: '/tmp',
  entrypoint: 'sh',
  command: ['-c', 'echo first-byte'],
  stdin: '',
});

function cliFirstByte(command: string, globalArgs: string[], name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, [...globalArgs, ...buildRunArgs(kind, spec(name))], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end('');
    let at: number | null = null;
    child.stdout.once('data', () => (at = performance.now() - t0));
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => (at === null ? reject(new Error(`exit ${code}: ${err}`)) : resolve(at)));
  });
}

function api(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: parseMaybe(text) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The Engine API's create body for the same spec (what a REST engine would send). */
function createBody(s: ContainerSpec): Record<string, unknown> {
  const bytes = 512 * 1024 * 1024;
  return {
    Image: s.image,
    Entrypoint: [s.entrypoint],
    Cmd: s.command,
    User: s.user,
    WorkingDir: s.workdir,
    Labels: s.labels,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: true,
    OpenStdin: true,
    StdinOnce: true,
    HostConfig: {
      Init: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: s.pidsLimit,
      Memory: bytes,
      MemorySwap: bytes,
      NanoCpus: 1e9,
      Tmpfs: { '/tmp': `rw,nosuid,size=${s.tmpfsSize}` },
      NetworkMode: 'none',
      Ulimits: [
        { Name: 'nofile', Soft: 4096, Hard: 4096 },
        { Name: 'nproc', Soft: 4096, Hard: 4096 },
      ],
    },
  };
}

async function restFirstByte(socketPath: string, name: string): Promise<number> {
  const t0 = performance.now();
  const created = await api(
    socketPath,
    'POST',
    `/v1.41/containers/create?name=${name}`,
    createBody(spec(name)),
  );
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.json)}`);
  const id = (created.json as { Id: string }).Id;
  const firstByte = new Promise<number>((resolve, reject) => {
    const req = request({
      socketPath,
      method: 'POST',
      path: `/v1.41/containers/${id}/attach?stream=1&stdout=1&stderr=1&stdin=1`,
      headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    req.on('upgrade', (_res, socket) => {
      socket.once('data', () => resolve(performance.now() - t0));
      socket.end();
      void api(socketPath, 'POST', `/v1.41/containers/${id}/start`).then((r) => {
        if (r.status !== 204) reject(new Error(`start: ${r.status} ${JSON.stringify(r.json)}`));
      });
    });
    req.on('error', reject);
    req.end();
  });
  const ms = await firstByte;
  await api(socketPath, 'POST', `/v1.41/containers/${id}/wait`);
  await api(socketPath, 'DELETE', `/v1.41/containers/${id}?force=1`);
  return ms;
}

async function startPodmanService(
  command: string,
  globalArgs: string[],
): Promise<{ socket: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'engine-start-'));
  const socket = join(dir, 'podman.sock');
  const child: ChildProcess = spawn(
    command,
    [...globalArgs, 'system', 'service', '--time=0', `unix://${socket}`],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    const ok = await api(socket, 'GET', '/_ping').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    socket,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const rt = await detectRuntime({ runtime: kind, ociRuntime: 'auto' });
  const service =
    kind === 'podman'
      ? await startPodmanService(rt.command, rt.globalArgs)
      : { socket: '/var/run/docker.sock', stop: async () => undefined };
  const cli: number[] = [];
  const rest: number[] = [];
  try {
    // One warm-up each, then alternate.
    await cliFirstByte(rt.command, rt.globalArgs, `engine-start-warm-cli-${process.pid}`);
    await restFirstByte(service.socket, `engine-start-warm-rest-${process.pid}`);
    for (let i = 0; i < runs; i++) {
      const name = `engine-start-${process.pid}-${i}`;
      if (i % 2 === 0) {
        cli.push(await cliFirstByte(rt.command, rt.globalArgs, `${name}-cli`));
        rest.push(await restFirstByte(service.socket, `${name}-rest`));
      } else {
        rest.push(await restFirstByte(service.socket, `${name}-rest`));
        cli.push(await cliFirstByte(rt.command, rt.globalArgs, `${name}-cli`));
      }
    }
  } finally {
    await service.stop();
    spawn(
      rt.command,
      [
        ...rt.globalArgs,
        'rm',
        '-f',
        ...Array.from({ length: runs }, (_, i) => `engine-start-${process.pid}-${i}-cli`),
        `engine-start-warm-cli-${process.pid}`,
      ],
      { stdio: 'ignore' },
    );
  }
  const fmt = (xs: number[]) =>
    `median ${round(median(xs))} ms (min ${round(Math.min(...xs))}, max ${round(Math.max(...xs))})`;
  console.log(`${kind} ${rt.version}${rt.rootless ? ' rootless' : ''}: ${runs} runs each`);
  console.log(`  CLI  run attached → first byte: ${fmt(cli)}`);
  console.log(`  REST create/attach/start → first byte: ${fmt(rest)}`);
}

await main();

function parseMaybe(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}
