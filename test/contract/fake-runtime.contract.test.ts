import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CliEngine } from '../../src/runtime/cli-engine.js';
import type { ContainerSpec } from '../../src/runtime/engine.js';
import type { RuntimeSpec } from '../../src/shared/protocol.js';
import { describeEngineContract, type Program, type SpecOptions } from './engine-contract.js';

const FAKE_RUNTIME = resolve('test/fixtures/fake-runtime.mjs');
const RUN_LABEL = 'io.claude-pod.contract.run';

/** The fake runtime (test/fixtures/fake-runtime.mjs) through the same CliEngine as podman. */
describeEngineContract('fake runtime through CliEngine', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cpod-fake-contract-'));
  const state = join(dir, 'state');
  const rt: RuntimeSpec = {
    kind: 'podman',
    command: FAKE_RUNTIME,
    globalArgs: [],
    env: {
      FAKE_RUNTIME_STATE: state,
      FAKE_RUNTIME_MISSING_IMAGES: 'localhost/claude-pod-no-such-image:contract',
    },
  };
  const engine = new CliEngine(rt);
  let files = 0;

  /** Each program in FAKE_* terms; `lines` is a recording printed at a pace. */
  function fakeEnv(program: Program): Record<string, string> {
    switch (program.kind) {
      case 'print':
        return { FAKE_PRINT: program.text, FAKE_EXIT_CODE: String(program.exitCode) };
      case 'echo-stdin':
        return { FAKE_ECHO_STDIN: '1' };
      case 'lines': {
        const text = Array.from({ length: program.count }, (_, i) => `line-${i}\n`).join('');
        const path = join(dir, `lines-${++files}.txt`);
        writeFileSync(path, text);
        const rate = Math.ceil((Buffer.byteLength(text) * 1000) / (program.count * program.delayMs));
        return { FAKE_STREAM: path, FAKE_RATE_BYTES_PER_SEC: String(rate), FAKE_CHUNK_BYTES: '1' };
      }
      case 'until-sigint':
        return {
          FAKE_PRINT: 'ready\n',
          FAKE_HOLD_MS: '-1',
          FAKE_ON_SIGINT: 'got-SIGINT\n',
          FAKE_SIGINT_EXIT_CODE: String(program.exitCode),
        };
      case 'stubborn':
        return { FAKE_PRINT: 'ready\n', FAKE_HOLD_MS: '-1' };
      case 'memory-hog':
        return { FAKE_OOM: '1' };
    }
  }

  return {
    engine,
    image: 'localhost/claude-pod-agent:latest',
    facts: { limits: true, stats: true },
    spec(name: string, program: Program, opts: SpecOptions = {}): ContainerSpec {
      return {
        name,
        image: 'localhost/claude-pod-agent:latest',
        labels: { [RUN_LABEL]: 'fake', ...(opts.labels ?? {}) },
        memory: opts.memory ?? '256m',
        cpus: '1.0',
        pidsLimit: 128,
        tmpfsSize: '64m',
        network: 'none',
        apparmorProfile: '',
        user: '1000:1000',
        mounts: [],
        env: fakeEnv(program),
        secretEnv: {},
        workdir: '/tmp',
        command: [],
        ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
      };
    },
    unreachable: () => new CliEngine({ ...rt, env: { ...rt.env, FAKE_RUNTIME_UNREACHABLE: '1' } }),
    async hanging() {
      return {
        engine: new CliEngine({ ...rt, env: { ...rt.env, FAKE_RUNTIME_HANG: '1' } }),
        close: async () => undefined,
      };
    },
    async cleanup() {
      await Promise.all((await engine.list({ [RUN_LABEL]: 'fake' })).map((c) => engine.remove(c.name)));
      await rm(dir, { recursive: true, force: true });
    },
  };
});
