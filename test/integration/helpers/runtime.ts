import { randomBytes } from 'node:crypto';
import { CliEngine } from '../../../src/runtime/cli-engine.js';
import { detectRuntime, type DetectedRuntime } from '../../../src/runtime/detect.js';
import type { ContainerEngine } from '../../../src/runtime/engine.js';
import { toRuntimeSpec } from '../../../src/runtime/runtime-info.js';
import { DEFAULT_IMAGE } from '../../../src/shared/config.js';
import { ClaudePodError, ErrorCodes, isClaudePodError } from '../../../src/shared/errors.js';
import type { RuntimeSpec } from '../../../src/shared/protocol.js';

/** Label on every container a test starts, valued per test process, so a suite can reap its own. */
export const TEST_RUN_LABEL = 'io.claude-pod.test-run';
export const testRunId = `${process.pid}-${randomBytes(3).toString('hex')}`;

export const isCI = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');

/**
 * The engine a test run targets: `CLAUDE_POD_TEST_ENGINE` = `podman` (default: rootful or
 * rootless, whatever this user has), `podman-rootful`, `podman-rootless` or `docker`. CI runs
 * the job-lifecycle tests once per engine (scripts/test-engines.mjs); naming the mode makes a
 * run that landed on the wrong one fail instead of passing for the wrong engine.
 */
export type TestEngine = 'podman' | 'podman-rootful' | 'podman-rootless' | 'docker';

export function selectedEngine(): TestEngine {
  const raw = process.env.CLAUDE_POD_TEST_ENGINE || 'podman';
  if (raw === 'podman' || raw === 'podman-rootful' || raw === 'podman-rootless' || raw === 'docker')
    return raw;
  throw new Error(
    `CLAUDE_POD_TEST_ENGINE=${raw}: expected podman, podman-rootful, podman-rootless or docker`,
  );
}

/** The config key that points a supervisor at the engine under test. */
export const testRuntimeConfig = (): { runtime: 'podman' | 'docker' } => ({
  runtime: selectedEngine() === 'docker' ? 'docker' : 'podman',
});

export interface RuntimeFacts {
  /** Memory, CPU and PID limits are enforced (not: rootless on cgroups v1). */
  limits: boolean;
  /** Containers have a cgroup of their own, so metrics come from cgroup files. */
  cgroupMetrics: boolean;
  /** `stats` answers (not: rootless podman on cgroups v1). */
  stats: boolean;
}

export type RuntimeAvailability =
  | {
      available: true;
      engineName: TestEngine;
      runtime: DetectedRuntime;
      spec: RuntimeSpec;
      engine: ContainerEngine;
      image: string;
      facts: RuntimeFacts;
      reason: '';
    }
  | { available: false; reason: string };

export type AvailableRuntime = Extract<RuntimeAvailability, { available: true }>;

/** What this runtime cannot do, known from what it is (doctor measures the same). */
export function factsOf(runtime: DetectedRuntime): RuntimeFacts {
  const limitless = runtime.rootless && runtime.cgroupVersion === 'v1';
  return { limits: !limitless, cgroupMetrics: !limitless, stats: !limitless };
}

/**
 * A real container runtime and the agent image, for integration tests. Under CI=true anything
 * missing throws (the test file fails: CI must never pass by skipping); otherwise it returns
 * `available: false` with a reason, which the caller shows in its skipped suite's title.
 *
 *   const env = await requireRuntime();
 *   describe.skipIf(!env.available)(`hardening${skipNote(env)}`, () => { … });
 */
export async function requireRuntime(opts: { image?: string } = {}): Promise<RuntimeAvailability> {
  const image = opts.image ?? process.env.CLAUDE_POD_TEST_IMAGE ?? DEFAULT_IMAGE;
  const engineName = selectedEngine();
  let failure: ClaudePodError;
  try {
    const runtime = await detectRuntime({
      runtime: engineName === 'docker' ? 'docker' : 'podman',
      ociRuntime: process.env.CLAUDE_POD_TEST_OCI_RUNTIME ?? 'auto',
    });
    const wrong = wrongEngine(engineName, runtime);
    if (wrong) throw new ClaudePodError(ErrorCodes.RUNTIME_MISSING, wrong);
    const spec = toRuntimeSpec(runtime);
    const engine = new CliEngine(spec);
    if (await engine.imageExists(image)) {
      return {
        available: true,
        engineName,
        runtime,
        spec,
        engine,
        image,
        facts: factsOf(runtime),
        reason: '',
      };
    }
    failure = new ClaudePodError(
      ErrorCodes.IMAGE_NOT_FOUND,
      `Container image not found: ${image}. Fix: run \`node dist/cli/main.js setup\`.`,
    );
  } catch (error) {
    failure = isClaudePodError(error) ? error : new ClaudePodError(ErrorCodes.RUNTIME_MISSING, String(error));
  }
  if (isCI()) throw failure;
  const reason = `${failure.code}: ${failure.message}`;
  console.warn(`[integration] skipping: ${reason}`);
  return { available: false, reason };
}

function wrongEngine(wanted: TestEngine, runtime: DetectedRuntime): string | null {
  const got = `${runtime.kind} (${runtime.rootless ? 'rootless' : 'rootful'})`;
  if (wanted === 'docker' && runtime.kind !== 'docker')
    return `CLAUDE_POD_TEST_ENGINE=docker, but found ${got}`;
  if (wanted.startsWith('podman') && runtime.kind !== 'podman') return `${wanted} wanted, but found ${got}`;
  if (wanted === 'podman-rootless' && !runtime.rootless) return `podman-rootless wanted, but found ${got}`;
  if (wanted === 'podman-rootful' && runtime.rootless) return `podman-rootful wanted, but found ${got}`;
  return null;
}

/** Suffix for a suite title that says why it was skipped. */
export const skipNote = (env: RuntimeAvailability): string =>
  env.available ? '' : ` [skipped: ${env.reason}]`;

/** The runtime, for code that only runs inside a suite skipped when it is unavailable. */
export function mustHave(env: RuntimeAvailability): AvailableRuntime {
  if (!env.available) throw new Error(`this should not happen: no runtime (${env.reason})`);
  return env;
}

/** Removes every container carrying `label` (`key=value`), running or not; returns how many. */
export async function reapByLabel(engine: ContainerEngine, label: string): Promise<number> {
  const i = label.indexOf('=');
  const found = await engine.list({ [label.slice(0, i)]: label.slice(i + 1) });
  await Promise.all(found.map((c) => engine.remove(c.name)));
  return found.length;
}
