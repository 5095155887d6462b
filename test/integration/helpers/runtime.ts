import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { detectRuntime, type DetectedRuntime } from '../../../src/runtime/detect.js';
import { toRuntimeSpec } from '../../../src/runtime/runtime-info.js';
import { DEFAULT_IMAGE } from '../../../src/shared/config.js';
import { ClaudePodError, ErrorCodes, isClaudePodError } from '../../../src/shared/errors.js';
import type { RuntimeSpec } from '../../../src/shared/protocol.js';

/** Label on every container a test starts, valued per test process, so a suite can reap its own. */
export const TEST_RUN_LABEL = 'io.claude-pod.test-run';
export const testRunId = `${process.pid}-${randomBytes(3).toString('hex')}`;

export const isCI = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');

export type RuntimeAvailability =
  | { available: true; runtime: DetectedRuntime; spec: RuntimeSpec; image: string; reason: '' }
  | { available: false; reason: string };

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
  let failure: ClaudePodError;
  try {
    const runtime = await detectRuntime({
      runtime: (process.env.CLAUDE_POD_TEST_RUNTIME as 'podman' | 'docker' | undefined) ?? 'podman',
      ociRuntime: process.env.CLAUDE_POD_TEST_OCI_RUNTIME ?? 'auto',
    });
    const inspect = await execa(
      runtime.command,
      [...runtime.globalArgs, 'image', 'inspect', '--format', '{{.Id}}', image],
      {
        reject: false,
        stdin: 'ignore',
      },
    );
    if (inspect.exitCode === 0)
      return { available: true, runtime, spec: toRuntimeSpec(runtime), image, reason: '' };
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

/** Suffix for a suite title that says why it was skipped. */
export const skipNote = (env: RuntimeAvailability): string =>
  env.available ? '' : ` [skipped: ${env.reason}]`;

/** Removes every container carrying `label` (key=value), running or not. */
export async function reapByLabel(spec: RuntimeSpec, label: string): Promise<number> {
  const ps = await execa(spec.command, [...spec.globalArgs, 'ps', '-a', '-q', '--filter', `label=${label}`], {
    reject: false,
    stdin: 'ignore',
  });
  const ids = String(ps.stdout ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) return 0;
  const force = spec.kind === 'podman' ? ['rm', '-f', '-t', '0'] : ['rm', '-f'];
  await execa(spec.command, [...spec.globalArgs, ...force, ...ids], { reject: false, stdin: 'ignore' });
  return ids.length;
}
