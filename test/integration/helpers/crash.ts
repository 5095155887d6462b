import { resolve } from 'node:path';
import { execa } from 'execa';
import type { MockReply, Scenario } from '../../../src/mock-api/index.js';
import { toolUseReply } from '../../../src/mock-api/index.js';
import type { ContainerEngine } from '../../../src/runtime/engine.js';
import { JOB_LIFE_MS } from './wait.js';

/**
 * One tool turn (output lines before the crash), then a final text streamed slowly over
 * several seconds: the test kills the supervisor while that stream is in flight.
 */
export const crashScenario =
  (chunks = 40, delayMs = 150): Scenario =>
  (ctx): MockReply => {
    if (!ctx.conversation.lastUserHasToolResult) {
      return toolUseReply('Bash', { command: 'echo step one', description: 'First step' });
    }
    const parts = Array.from({ length: chunks }, (_, i) => `part ${i + 1}${i + 1 < chunks ? ', ' : '.'}`);
    return {
      kind: 'message',
      blocks: [{ type: 'text', text: parts.join(''), chunks: parts }],
      pacing: { deltaDelayMs: delayMs },
    };
  };

/** A supervisor in a child process (test/fixtures/supervisor-child.mts) that can be killed -9. */
export async function spawnSupervisorChild(config: object, prompt: string, env: Record<string, string>) {
  const child = execa(
    process.execPath,
    ['--import', 'tsx', resolve('test/fixtures/supervisor-child.mts'), JSON.stringify(config), prompt],
    { env: { ...process.env, ...env }, reject: false, buffer: false, stdin: 'ignore' },
  );
  const lines: Array<Record<string, unknown>> = [];
  let pending = '';
  const waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = JSON.parse(pending.slice(0, nl)) as Record<string, unknown>;
      pending = pending.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const waitFor = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = JOB_LIFE_MS) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      const found = lines.find(pred);
      if (found) return res(found);
      const timer = setTimeout(
        () =>
          rej(
            new Error(
              `the supervisor child printed no such line within ${timeoutMs} ms: ${stderr.slice(-2000)}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          res(l);
        },
      });
      void child.then((r) => {
        clearTimeout(timer);
        rej(new Error(`supervisor child exited (${r.exitCode}): ${stderr.slice(-2000)}`));
      });
    });
  return {
    child,
    waitFor,
    async kill9() {
      child.kill('SIGKILL');
      await child;
    },
  };
}

/**
 * The ground truth of what a container printed: the engine's own log of it (`follow`), read by the
 * test itself from the container's first byte to its exit, independent of the supervisor under
 * test. The container may not exist (or not have started) yet: it looks again until it has.
 */
export async function captureContainerLog(
  engine: ContainerEngine,
  name: string,
  timeoutMs = JOB_LIFE_MS,
): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // A follow of a container created but not started yet ends at once, with nothing.
    const state = await engine.inspect(name).catch(() => null);
    if (state && state.startedAt !== null && state.status !== 'created') {
      const stream = engine.follow(name);
      const chunks: Buffer[] = [];
      stream.stdout.on('data', (c: Buffer) => chunks.push(c));
      const end = await stream.done;
      if (end.exitCode === 0) return Buffer.concat(chunks);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`could not read the log of ${name} within ${timeoutMs} ms`);
}

/** Stream-json with the CLI's per-run random fields (uuids, ids, times) blanked out. */
export function normalizeStream(text: string): string[] {
  const volatile =
    /^(uuid|session_id|timestamp|.*_ms|.*_at|duration.*|total_cost_usd|cost.*|request_id|.*Ms)$/i;
  const scrub = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([k]) => !volatile.test(k))
          .map(([k, x]) => [k, scrub(x)]),
      );
    }
    return v;
  };
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify({
          type: e.type,
          subtype: e.subtype,
          message: scrub((e.message as { content?: unknown })?.content),
        });
      } catch {
        return line;
      }
    });
}
