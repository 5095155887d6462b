import { resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { MockReply, Scenario } from '../../../src/mock-api/index.js';
import { toolUseReply } from '../../../src/mock-api/index.js';
import type { RuntimeSpec } from '../../../src/shared/protocol.js';

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
  const waitFor = (pred: (l: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      const found = lines.find(pred);
      if (found) return res(found);
      waiters.push({ pred, resolve: res });
      void child.then((r) =>
        rej(new Error(`supervisor child exited (${r.exitCode}): ${stderr.slice(-2000)}`)),
      );
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
 * The ground truth of what a container printed: `logs --follow` from the test itself, from the
 * container's first byte to its exit, independent of the supervisor under test.
 */
export function captureContainerLog(rt: RuntimeSpec, name: string): Promise<Buffer> {
  return (async () => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const proc: ResultPromise = execa(rt.command, [...rt.globalArgs, 'logs', '--follow', name], {
        reject: false,
        buffer: false,
        encoding: 'buffer',
        stdin: 'ignore',
      });
      const chunks: Buffer[] = [];
      proc.stdout!.on('data', (c: Buffer) => chunks.push(c));
      const result = await proc;
      if (result.exitCode === 0) return Buffer.concat(chunks);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`could not read the log of ${name}`);
  })();
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
