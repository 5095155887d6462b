import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliEngine } from '../../src/runtime/cli-engine.js';
import type { ContainerSpec } from '../../src/runtime/engine.js';
import { LABEL_MANAGED } from '../../src/runtime/labels.js';
import { containerUserNamespace } from '../../src/runtime/user-namespace.js';
import type { RuntimeSpec } from '../../src/shared/protocol.js';
import { CONTAINER_USER } from '../../src/supervisor/job-spec.js';
import {
  reapByLabel,
  TEST_RUN_LABEL,
  testRunId,
  type AvailableRuntime,
} from '../integration/helpers/runtime.js';
import type { EngineUnderTest, Program, SpecOptions } from './engine-contract.js';

/** Each program as a POSIX shell script in the agent image. */
function script(program: Program): { command: string[]; env: Record<string, string> } {
  switch (program.kind) {
    case 'print':
      return {
        command: ['printf "%s" "$CONTRACT_TEXT"; exit "$CONTRACT_EXIT"'],
        env: { CONTRACT_TEXT: program.text, CONTRACT_EXIT: String(program.exitCode) },
      };
    case 'echo-stdin':
      return { command: ['cat'], env: {} };
    case 'lines':
      return {
        command: [
          `i=0; while [ "$i" -lt ${program.count} ]; do echo "line-$i"; i=$((i + 1)); sleep ${program.delayMs / 1000}; done`,
        ],
        env: {},
      };
    case 'until-sigint':
      return {
        command: [
          `trap 'echo got-SIGINT; exit ${program.exitCode}' INT; echo ready; while :; do sleep 0.05; done`,
        ],
        env: {},
      };
    case 'stubborn':
      return { command: [`trap '' INT TERM; echo ready; while :; do sleep 0.05; done`], env: {} };
    case 'memory-hog':
      // Written bytes, not a zeroed allocation the kernel could leave untouched.
      return { command: [`python3 -c "a = b'x' * (512 * 1024 * 1024); print(len(a))"`], env: {} };
  }
}

/**
 * Remote variants of an engine's client: `--remote --url` for podman, DOCKER_HOST for docker,
 * both pointed at a unix socket that refuses (absent) or accepts and never answers.
 */
function viaSocket(spec: RuntimeSpec, socket: string): RuntimeSpec {
  return spec.kind === 'podman'
    ? { ...spec, globalArgs: ['--remote', '--url', `unix://${socket}`], remote: true }
    : { ...spec, env: { ...(spec.env ?? {}), DOCKER_HOST: `unix://${socket}` }, remote: true };
}

/** A real podman or docker engine (rootful or rootless) as a contract target. */
export function realEngineTarget(rt: AvailableRuntime): EngineUnderTest {
  const engine = new CliEngine(rt.spec);
  return {
    engine,
    image: rt.image,
    facts: { limits: rt.facts.limits, stats: rt.facts.stats },
    spec(name: string, program: Program, opts: SpecOptions = {}): ContainerSpec {
      const { command, env } = script(program);
      const userns = containerUserNamespace(rt.spec, CONTAINER_USER);
      return {
        name,
        image: rt.image,
        labels: { [LABEL_MANAGED]: 'true', [TEST_RUN_LABEL]: testRunId, ...(opts.labels ?? {}) },
        memory: opts.memory ?? '256m',
        cpus: '1.0',
        pidsLimit: 128,
        tmpfsSize: '64m',
        network: 'none',
        apparmorProfile: '',
        user: CONTAINER_USER,
        ...(userns ? { userns } : {}),
        mounts: [],
        env,
        secretEnv: {},
        workdir: '/tmp',
        entrypoint: 'sh',
        command: ['-c', ...command],
        ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
      };
    },
    unreachable: () => new CliEngine(viaSocket(rt.spec, '/nonexistent/claude-pod-contract.sock')),
    async hanging() {
      const dir = await mkdtemp(join(tmpdir(), 'cpod-silent-'));
      const socket = join(dir, 'silent.sock');
      const held = new Set<Socket>();
      const server = createServer((conn) => {
        held.add(conn);
        conn.on('close', () => held.delete(conn));
      });
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      return {
        engine: new CliEngine(viaSocket(rt.spec, socket)),
        async close() {
          for (const conn of held) conn.destroy();
          await new Promise((resolve) => server.close(resolve));
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    async cleanup() {
      await reapByLabel(engine, `${TEST_RUN_LABEL}=${testRunId}`);
    },
  };
}
