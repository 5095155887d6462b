import { describe, expect, it } from 'vitest';
import { assertLimitsEnforced, unenforcedLimits } from '../../../src/runtime/limit-support.js';
import type { RuntimeInfo } from '../../../src/runtime/runtime-info.js';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { fakeRuntimeInfo, fakeStack } from '../supervisor/fake-runtime-stack.js';

const runtime = (over: Partial<RuntimeInfo>): RuntimeInfo => ({
  kind: 'podman',
  command: '/usr/bin/podman',
  version: '4.3.1',
  ociRuntime: 'runc',
  rootless: false,
  cgroupVersion: 'v1',
  logDriver: 'k8s-file',
  globalArgs: [],
  ...over,
});

const rootlessV1 = runtime({ rootless: true, limits: { memory: false, cpu: false, pids: false } });

describe('unenforcedLimits', () => {
  it('names every limit the engine says it cannot enforce', () => {
    expect(unenforcedLimits(rootlessV1)).toEqual(['memory', 'CPU', 'PID']);
    expect(
      unenforcedLimits(
        runtime({ rootless: true, cgroupVersion: 'v2', limits: { memory: true, cpu: false, pids: true } }),
      ),
    ).toEqual(['CPU']);
    expect(unenforcedLimits(runtime({ limits: { memory: true, cpu: true, pids: true } }))).toEqual([]);
  });

  it('trusts an engine that does not say (doctor measures)', () => {
    expect(unenforcedLimits(runtime({}))).toEqual([]);
  });
});

describe('assertLimitsEnforced', () => {
  it('throws LIMITS_NOT_ENFORCED naming the limits, why and the fix', () => {
    expect(() => assertLimitsEnforced(rootlessV1)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.LIMITS_NOT_ENFORCED,
        message: expect.stringMatching(/memory, CPU and PID limits \(rootless podman on cgroups v1/),
        details: expect.objectContaining({ missing: ['memory', 'CPU', 'PID'], rootless: true }),
      }),
    );
    expect(() =>
      assertLimitsEnforced(runtime({ limits: { memory: true, cpu: true, pids: true } })),
    ).not.toThrow();
  });
});

describe('requireLimits in the supervisor', () => {
  it('refuses to start a job where limits would be ignored, before anything is recorded', async () => {
    const stack = await fakeStack(
      { requireLimits: true },
      { runtime: { ...fakeRuntimeInfo(), limits: rootlessV1.limits! } },
    );
    try {
      await expect(stack.sup.start({ prompt: 'hi' })).rejects.toMatchObject({
        code: ErrorCodes.LIMITS_NOT_ENFORCED,
      });
      expect(stack.sup.jobs()).toEqual([]);
      expect(stack.sup.sessions()).toEqual([]);
    } finally {
      await stack.dispose();
    }
  });

  it('starts it when requireLimits is off (the default), or when the limits hold', async () => {
    for (const [config, limits] of [
      [{}, rootlessV1.limits!],
      [{ requireLimits: true }, { memory: true, cpu: true, pids: true }],
    ] as const) {
      const stack = await fakeStack(config, { runtime: { ...fakeRuntimeInfo(), limits } });
      try {
        const { jobId } = await stack.sup.start({ prompt: 'hi' });
        expect(stack.sup.status(jobId).status).not.toBe('failed');
      } finally {
        await stack.dispose();
      }
    }
  });
});
