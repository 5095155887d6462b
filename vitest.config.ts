import { defineConfig } from 'vitest/config';

/**
 * Projects:
 * - unit: no containers (the fake runtime stands in, including its run of the engine contract);
 * - integration: real runtime, image and CLI — every integration file plus the podman contract,
 *   on the default engine (rootful podman in CI);
 * - e2e: a real OpenClaw gateway;
 * - timing: the unit files that measure a thread's responsiveness (a thread-mate's progress gaps
 *   while a 50 MiB line or a 10 MiB burst streams); `npm test` runs them in a vitest run of their own after every
 *   other run (scripts/bootstrap.mjs), so nothing of the suite's takes the cores they measure;
 * - engine (only when CLAUDE_POD_TEST_ENGINE is set): the job-lifecycle files and that engine's
 *   contract, for the engines CI runs them on a second and third time (scripts/test-engines.mjs:
 *   `podman-rootless` as a created non-root user, `docker` against Docker Engine);
 * - remote (only when CLAUDE_POD_TEST_REMOTE is set): the remote engines — a podman service the
 *   tests start, Docker Engine through DOCKER_HOST, two engines at once, the Kubernetes manifest
 *   under `podman kube play` (scripts/test-engines.mjs `remote`).
 */
const engine = process.env.CLAUDE_POD_TEST_ENGINE;
const remote = process.env.CLAUDE_POD_TEST_REMOTE;
const contractFile = (name: string | undefined) =>
  `test/contract/${name === 'docker' ? 'docker' : 'podman'}.contract.test.ts`;

/** Unit files with a wall-clock bound on a thread's responsiveness: run alone (project `timing`). */
const timingFiles = ['test/unit/supervisor/actor-threads.test.ts'];

// One container life plus margin; a test that needs more says so itself. Long defaults hide hangs.
const containerTimeouts = { testTimeout: 60_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    restoreMocks: true,
    unstubEnvs: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/fake-runtime.contract.test.ts'],
          exclude: timingFiles,
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'timing',
          include: timingFiles,
          testTimeout: 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', contractFile('podman')],
          exclude: ['test/integration/remote/**'],
          ...containerTimeouts,
          // Containers share two cores: keep integration files sequential so timing-based
          // assertions (startup/idle timers) are not starved by a neighbouring file.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
      ...(engine
        ? [
            {
              extends: true as const,
              test: {
                name: `engine`,
                include: ['test/integration/lifecycle/**/*.test.ts', contractFile(engine)],
                ...containerTimeouts,
                fileParallelism: false,
              },
            },
          ]
        : []),
      ...(remote
        ? [
            {
              extends: true as const,
              test: {
                name: 'remote',
                include: ['test/integration/remote/**/*.test.ts'],
                ...containerTimeouts,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
