/**
 * Another local user against a real job of the supervisor (worker thread, runtime client, proxy
 * daemon, container with the real Claude Code CLI): with `ps`, /proc and the job's socket paths
 * in hand, `nobody` finds no token, no prompt, no key, and reaches no socket.
 * test/integration/proxy-isolation.test.ts holds the same for the proxy alone; this is the whole.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { containerNameFor } from '../../src/runtime/labels.js';
import { jobSocketDir, jobSocketPath, proxyPaths } from '../../src/proxy/paths.js';
import { runAsNobody } from './helpers/as-nobody.js';
import { mustHave, requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, TEST_API_KEY, type Stack } from './helpers/stack.js';

const env = await requireRuntime();
const isRoot = process.getuid?.() === 0;

/** Every capability token in any process's environment, as root reads them: the job's must be somewhere. */
async function tokensInEnvironments(): Promise<Set<string>> {
  const found = new Set<string>();
  for (const pid of (await readdir('/proc')).filter((x) => /^\d+$/.test(x))) {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    for (const m of environ.matchAll(/cpod_[A-Za-z0-9_-]{20,}/g)) found.add(m[0]);
  }
  return found;
}

describe.skipIf(!env.available || !isRoot)(`another local user${skipNote(env)}`, () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ maxConcurrentJobs: 2 });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('nobody, with ps and the sockets, while two jobs run: no token, no prompt, no key, no API access', async () => {
    const sup = stack.supervisor;
    const markers = ['secret-prompt-one-5b1e', 'secret-prompt-two-9c4d'];
    const jobs = await Promise.all(
      markers.map((m) =>
        sup.start({ prompt: `${m} ${formatDirective('slow-stream', { count: 40, delay: 250 })}` }),
      ),
    );
    // Both are running: their requests reached the mock through the proxy.
    for (const m of markers)
      await stack.mock.waitForRequest(
        (r) => r.path === '/v1/messages' && JSON.stringify(r.body).includes(m),
        90_000,
      );
    const tokens = [...(await tokensInEnvironments())];
    const paths = proxyPaths(join(stack.config.sessionsDir as string, '.proxy'));
    const containerPids = await Promise.all(
      jobs.map(async (j) => (await mustHave(env).engine.inspect(containerNameFor(j.jobId)))?.pid ?? null),
    );
    const targets = {
      sockets: [
        ...jobs.map((j) => jobSocketPath(paths, j.jobId)),
        paths.controlSocket,
        ...containerPids.filter(Boolean).map((pid) => `/proc/${pid}/root/run/claude-pod/api.sock`),
      ],
      files: [paths.tokensFile, paths.pidFile, paths.logFile],
      dirs: [paths.socketRoot, ...jobs.map((j) => jobSocketDir(paths, j.jobId)), paths.dir],
    };
    const probe = await runAsNobody(targets, [...tokens, ...markers, TEST_API_KEY, 'cpod_']);
    console.info(`[local-user] tokens root found: ${tokens.length}; as nobody: ${JSON.stringify(probe)}`);

    // The probe was meaningful: the jobs' tokens exist (root reads them) and their containers ran.
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(containerPids.every((pid) => typeof pid === 'number' && pid > 0)).toBe(true);
    expect(probe.sawJob).toBe(true);
    for (const path of targets.sockets) expect(probe[`connect ${path}`], path).toMatch(/^(EACCES|ENOENT)$/);
    for (const path of targets.files) expect(probe[`read ${path}`], path).toBe('EACCES');
    for (const path of targets.dirs) expect(probe[`list ${path}`], path).toBe('EACCES');
    expect(probe.psHits).toBe(0);
    expect(probe.cmdlineHits).toBe(0);
    expect(probe.environHits).toBe(0);
    for (const j of jobs) {
      const final = await stack.waitForEnd(j.jobId);
      expect(final.status, `${final.errorCode}: ${final.error}`).toBe('completed');
    }
  }, 180_000);
});
