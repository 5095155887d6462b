/**
 * One job floods its API socket while two others stream, all of them real supervisor jobs (real
 * runtime, image and Claude Code CLI; the flood is the Bash command the mock has Claude run):
 * the streams finish on time and whole, a job started meanwhile gets the same proxy daemon
 * (it is never judged dead, killed or taken over), and the flooder itself completes.
 * test/integration/proxy-isolation.test.ts measures the same against the proxy alone.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { proxyPaths } from '../../src/proxy/paths.js';
import { readPidFile } from '../../src/proxy/pid-file.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { until } from './helpers/processes.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, type Stack } from './helpers/stack.js';

const env = await requireRuntime();
const FLOOD = fileURLToPath(new URL('../fixtures/socket-flood.mjs', import.meta.url));
const STREAM = { count: 24, delay: 250 }; // a 6 s reply
const expectedText = Array.from({ length: STREAM.count }, (_, i) => `chunk ${i + 1}`).join(' ');

interface FloodStats {
  pid: number;
  attempts: number;
  connected: number;
  errors: Record<string, number>;
}

/** Six processes, 4000 slow connections each, at the job's own socket; counters to the workspace. */
async function floodCommand(): Promise<string> {
  const script = (await readFile(FLOOD)).toString('base64');
  return (
    `echo ${script} | base64 -d > /tmp/flood.mjs; ` +
    'for i in 1 2 3 4 5 6; do FLOOD_SOCKET=/run/claude-pod/api.sock FLOOD_CONNECTIONS=4000 ' +
    'FLOOD_RETRY_MS=50 FLOOD_SECONDS=45 node /tmp/flood.mjs > /workspace/flood-$i.log & done; wait; echo flooded'
  );
}

/** The last counters each flood process wrote into the job's workspace. */
async function floodStats(workspace: string): Promise<FloodStats[]> {
  const files = (await readdir(workspace).catch(() => [] as string[])).filter((f) =>
    /^flood-\d\.log$/.test(f),
  );
  const stats: FloodStats[] = [];
  for (const file of files) {
    const lines = (await readFile(join(workspace, file), 'utf8')).trim().split('\n');
    const last = lines.at(-1);
    if (last?.startsWith('{')) stats.push(JSON.parse(last) as FloodStats);
  }
  return stats;
}

/**
 * From the mock's receipt of the job's request to its result in status() (the reply through the
 * proxy), and from start() to that result (the job's way to the API included).
 */
async function streamed(stack: Stack, sup: Supervisor, jobId: string, marker: string, startedAt: number) {
  const resultAt = await until(
    `the result of ${jobId}`,
    () => {
      const s = sup.status(jobId);
      if (['failed', 'cancelled'].includes(s.status)) throw new Error(`${jobId} ${s.status}: ${s.error}`);
      return s.claude.result !== null ? Date.now() : undefined;
    },
    120_000,
    25,
  );
  const request = stack.mock.messageRequests().find((r) => JSON.stringify(r.body).includes(marker));
  const final = await stack.waitForEnd(jobId);
  return {
    ms: request ? resultAt - request.receivedAt : Number.POSITIVE_INFINITY,
    totalMs: resultAt - startedAt,
    final,
  };
}

describe.skipIf(!env.available)(
  `a job flooding its API socket (real supervisor jobs)${skipNote(env)}`,
  () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ maxConcurrentJobs: 4, idleTimeout: 120 });
    });
    afterAll(async () => {
      await stack?.dispose();
    });

    it('two jobs stream on time and whole, a new job gets the same daemon, the flooder completes', async () => {
      const sup = stack.supervisor;
      const stream = (marker: string) =>
        sup.start({ prompt: `${marker} ${formatDirective('slow-stream', STREAM)}` });

      const baseAt = Date.now();
      const base = await stream('stream-alone-3f1c');
      const baseline = await streamed(stack, sup, base.jobId, 'stream-alone-3f1c', baseAt);
      expect(baseline.final.status).toBe('completed');
      const pidFile = proxyPaths(join(stack.config.sessionsDir as string, '.proxy')).pidFile;
      const daemon = (await readPidFile(pidFile))?.pid;
      expect(daemon).toBeGreaterThan(0);

      const flooder = await sup.start({
        prompt: `flood ${formatDirective('bash', { command: await floodCommand(), text: 'Flood over.' })}`,
      });
      const workspace = sup.sessions().find((s) => s.sessionId === flooder.sessionId)!.workspaceDir;
      const refused = (stats: FloodStats[]) => stats.reduce((n, s) => n + (s.errors.ECONNREFUSED ?? 0), 0);
      const attempts = (stats: FloodStats[]) => stats.reduce((n, s) => n + s.attempts, 0);
      const before = await until(
        'six flood processes, 4000 connects each',
        async () => {
          const stats = await floodStats(workspace);
          return stats.length === 6 && attempts(stats) >= 24_000 ? stats : undefined;
        },
        90_000,
        200,
      );

      const run = async (m: string) => {
        const at = Date.now();
        return streamed(stack, sup, (await stream(m)).jobId, m, at);
      };
      const runs = Promise.all([run('stream-one-8d2e'), run('stream-two-c47a')]);
      // A job started meanwhile: its grant asks the daemon over the control socket, as any start does.
      const startedAt = Date.now();
      const late = await sup.start({ prompt: `late ${formatDirective('echo')}` });
      const lateEnd = await stack.waitForEnd(late.jobId);
      const lateMs = Date.now() - startedAt;
      const [a, b] = await runs;
      const floodEnd = await stack.waitForEnd(flooder.jobId, sup, 120_000);
      const after = await floodStats(workspace);

      console.info(
        `[flood] reply of ${STREAM.count} x ${STREAM.delay} ms: alone ${baseline.ms} ms, during the flood ` +
          `${a.ms} / ${b.ms} ms; start to result alone ${baseline.totalMs} ms, during the flood ` +
          `${a.totalMs} / ${b.totalMs} ms; a job started meanwhile ended in ${lateMs} ms; flood: ${refused(after)} ` +
          `connects refused (${refused(before)} before the streams), ${attempts(after)} attempted, ` +
          `${after.reduce((n, s) => n + s.connected, 0)} accepted`,
      );
      const log = await readFile(
        proxyPaths(join(stack.config.sessionsDir as string, '.proxy')).logFile,
        'utf8',
      );
      // Start to result (or to the end of the one-reply job) may grow with the machine's load:
      // three container starts share two cores with the flood (13 s alone and 27 s during the
      // flood when other suites ran too). A job whose API connections are refused waits out
      // Claude Code's retries instead: 47-55 s against 10 s alone, with the fairness broken.
      const startBound = baseline.totalMs * 2 + 10_000;
      for (const run of [a, b]) {
        expect(run.final.status, `${run.final.errorCode}: ${run.final.error}`).toBe('completed');
        expect(run.final.claude.result).toBe(expectedText);
        expect(run.ms).toBeLessThan(baseline.ms + 3000);
        expect(run.totalMs).toBeLessThan(startBound);
      }
      expect(lateEnd.status, `${lateEnd.errorCode}: ${lateEnd.error}`).toBe('completed');
      expect(lateMs).toBeLessThan(startBound);
      // Still the flood's own counters: it went on while the others streamed.
      expect(attempts(after)).toBeGreaterThan(attempts(before));
      expect(floodEnd.status, `${floodEnd.errorCode}: ${floodEnd.error}`).toBe('completed');
      expect(floodEnd.claude.result).toBe('Flood over.');
      // The flooder met its own job's cap (the proxy says so in its log); nobody else did.
      const capped = log.split('\n').filter((l) => l.includes('at its connection cap'));
      expect(capped.length).toBeGreaterThan(0);
      expect(capped.every((l) => l.includes(flooder.jobId))).toBe(true);
      // One daemon throughout: never judged dead, killed or replaced.
      expect((await readPidFile(pidFile))?.pid).toBe(daemon);
      expect(() => process.kill(daemon as number, 0)).not.toThrow();
    }, 300_000);
  },
);
