/**
 * The contract every `ContainerEngine` keeps (src/runtime/engine.ts), as one suite run against
 * each implementation: the fake runtime through CliEngine, rootful podman, rootless podman and
 * Docker Engine, and any later engine (an in-memory one) that supplies a factory:
 *
 *   describeEngineContract('podman', () => realEngineTarget('podman'));
 *
 * The suite never looks at how an engine works, only at what it answers. A target describes the
 * programs below in its own terms (a shell script in the agent image, FAKE_* variables for the
 * fake runtime, …) and says which facts its host cannot give (limits, stats).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerEngine, ContainerSpec, ContainerStream, StreamEnd } from '../../src/runtime/engine.js';
import { ErrorCodes } from '../../src/shared/errors.js';

/** What a contract container does; each target turns these into its own container specs. */
export type Program =
  /** Prints `text` exactly (bytes, unicode, no trailing newline added), then exits `exitCode`. */
  | { kind: 'print'; text: string; exitCode: number }
  /** Copies its stdin to stdout until EOF, then exits 0. */
  | { kind: 'echo-stdin' }
  /** Prints `line-0\n` … `line-{count-1}\n`, one every `delayMs`, then exits 0. */
  | { kind: 'lines'; count: number; delayMs: number }
  /** Prints `ready\n`, runs until SIGINT, then prints `got-SIGINT\n` and exits `exitCode`. */
  | { kind: 'until-sigint'; exitCode: number }
  /** Prints `ready\n` and runs forever, ignoring SIGINT and SIGTERM. */
  | { kind: 'stubborn' }
  /** Allocates far more memory than `memory` allows. */
  | { kind: 'memory-hog' };

export interface SpecOptions {
  /** Labels besides the suite's own run label. */
  labels?: Record<string, string>;
  /** Memory limit (default: the target's). */
  memory?: string;
  /** Written to the container's stdin, which is then closed. */
  stdin?: string;
}

export interface EngineUnderTest {
  engine: ContainerEngine;
  /** An image the engine has. */
  image: string;
  /** A container spec named `name` that runs `program`, labelled so `cleanup` finds it. */
  spec(name: string, program: Program, opts?: SpecOptions): ContainerSpec;
  /** The same engine, but its client cannot reach the engine (a refused connection). */
  unreachable(): ContainerEngine;
  /** The same engine, but its client never answers (a socket that accepts and says nothing). */
  hanging(): Promise<{ engine: ContainerEngine; close(): Promise<void> }>;
  /** What this host gives: enforced memory limits (OOM kills) and a metrics sample per call. */
  facts: { limits: boolean; stats: boolean };
  /** Removes every container the suite started. */
  cleanup(): Promise<void>;
}

export type EngineFactory = () => Promise<EngineUnderTest>;

/** Seconds a well-behaved engine may take for one container's whole life on a loaded 2-core host. */
const LIFE_MS = 60_000;

interface Collected {
  bytes: Buffer;
  end: StreamEnd;
}

function collect(stream: ContainerStream, onData?: (all: Buffer) => void): Promise<Collected> {
  const chunks: Buffer[] = [];
  stream.stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    onData?.(Buffer.concat(chunks));
  });
  return stream.done.then(async (end) => {
    // `done` follows the client's exit; its stdout may still hold the last bytes.
    if (!stream.stdout.readableEnded) {
      await new Promise<void>((resolve) => {
        stream.stdout.once('end', resolve);
        stream.stdout.once('close', resolve);
      });
    }
    return { bytes: Buffer.concat(chunks), end };
  });
}

/** Resolves once `stream` printed `needle`; rejects when it ends first or after `timeoutMs`. */
function printed(stream: ContainerStream, needle: string, timeoutMs = LIFE_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${needle}" within ${timeoutMs} ms: ${seen}`)),
      timeoutMs,
    );
    stream.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(needle)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void stream.done.then((end) => {
      clearTimeout(timer);
      if (!seen.includes(needle))
        reject(new Error(`ended before "${needle}": ${JSON.stringify(end)} ${seen}`));
    });
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = LIFE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Asserts that `call` throws the engine's "no answer" error, not a guess. */
async function expectUnknown(call: Promise<unknown>, extra: Record<string, unknown> = {}): Promise<void> {
  await expect(call).rejects.toMatchObject({ code: ErrorCodes.RUNTIME_FAILED, ...extra });
}

export function describeEngineContract(title: string, factory: EngineFactory): void {
  describe(`ContainerEngine contract: ${title}`, () => {
    let t: EngineUnderTest;
    let engine: ContainerEngine;
    let seq = 0;
    const unique = (what: string) => `cpod-contract-${process.pid}-${what}-${++seq}`;

    beforeAll(async () => {
      t = await factory();
      engine = t.engine;
    }, 120_000);

    afterAll(async () => {
      await t?.cleanup();
    }, 120_000);

    it('imageExists: true for an image it has, false for one it does not', async () => {
      expect(await engine.imageExists(t.image)).toBe(true);
      expect(await engine.imageExists('localhost/claude-pod-no-such-image:contract')).toBe(false);
    });

    it('inspect: null for a container that never existed', async () => {
      expect(await engine.inspect(unique('never'))).toBeNull();
    });

    it(
      'run: stdout byte for byte, the exit code, and an exited container with its labels',
      async () => {
        const name = unique('print');
        const text = 'first line\nsecond: ünïcödé ✓ "quoted" $HOME\n\nno newline at the end';
        const labels = { 'io.claude-pod.contract.tricky': 'a=b, c=d;e', 'io.claude-pod.contract.empty': '' };
        const { bytes, end } = await collect(
          engine.run(t.spec(name, { kind: 'print', text, exitCode: 3 }, { labels })),
        );
        expect(bytes.toString('utf8')).toBe(text);
        expect(end).toMatchObject({ exitCode: 3, spawnError: null });
        const state = await engine.inspect(name);
        expect(state).toMatchObject({ status: 'exited', running: false, exitCode: 3, pid: null });
        expect(state!.id).toMatch(/^[0-9a-f]{12,64}$/);
        expect(state!.startedAt).toBeTruthy();
        expect(state!.finishedAt).toBeTruthy();
        expect(state!.labels).toMatchObject(labels);
      },
      LIFE_MS,
    );

    it(
      'run: the container reads its stdin to EOF (the prompt never goes through argv)',
      async () => {
        const name = unique('stdin');
        const prompt = '--version is not a flag here\nline two ✓';
        const { bytes, end } = await collect(
          engine.run(t.spec(name, { kind: 'echo-stdin' }, { stdin: prompt })),
        );
        expect(bytes.toString('utf8')).toBe(prompt);
        expect(end.exitCode).toBe(0);
      },
      LIFE_MS,
    );

    it(
      'a running container: running state, no exit code; kill SIGINT reaches it; then not-running',
      async () => {
        const name = unique('sigint');
        const stream = engine.run(t.spec(name, { kind: 'until-sigint', exitCode: 42 }));
        const all = collect(stream);
        await printed(stream, 'ready\n');
        const running = await engine.inspect(name);
        expect(running).toMatchObject({ status: 'running', running: true, exitCode: null, finishedAt: null });
        expect(running!.startedAt).toBeTruthy();
        if (engine.local) expect(running!.pid).toBeGreaterThan(0);
        expect(await engine.kill(name, 'SIGINT')).toBe('signalled');
        const { bytes, end } = await all;
        expect(bytes.toString('utf8')).toBe('ready\ngot-SIGINT\n');
        expect(end.exitCode).toBe(42);
        expect(await engine.inspect(name)).toMatchObject({ status: 'exited', exitCode: 42, pid: null });
        expect(await engine.kill(name, 'SIGINT')).toBe('not-running');
      },
      LIFE_MS,
    );

    it('kill: absent for a container that does not exist', async () => {
      expect(await engine.kill(unique('nokill'), 'SIGINT')).toBe('absent');
    });

    it(
      'follow: after the exit, the whole log from the first byte, then the end',
      async () => {
        const name = unique('follow-after');
        const ran = await collect(engine.run(t.spec(name, { kind: 'lines', count: 30, delayMs: 5 })));
        const expected = Array.from({ length: 30 }, (_, i) => `line-${i}\n`).join('');
        expect(ran.bytes.toString('utf8')).toBe(expected);
        for (let i = 0; i < 2; i++) {
          const { bytes, end } = await collect(engine.follow(name));
          expect(bytes.toString('utf8')).toBe(expected);
          expect(end.exitCode).toBe(0);
        }
      },
      LIFE_MS,
    );

    it(
      'detach: the container runs on; follow resumes from the first byte to the end',
      async () => {
        const name = unique('follow-during');
        const count = 40;
        const stream = engine.run(t.spec(name, { kind: 'lines', count, delayMs: 100 }));
        const first = collect(stream);
        await printed(stream, 'line-2\n');
        stream.detach();
        const detached = await first;
        expect(detached.bytes.toString('utf8').startsWith('line-0\nline-1\nline-2\n')).toBe(true);
        expect((await engine.inspect(name))?.status).toBe('running');
        const { bytes } = await collect(engine.follow(name));
        expect(bytes.toString('utf8')).toBe(Array.from({ length: count }, (_, i) => `line-${i}\n`).join(''));
        expect(await engine.inspect(name)).toMatchObject({ status: 'exited', exitCode: 0 });
      },
      LIFE_MS,
    );

    it(
      'list: every container carrying all the labels, running or exited, and no other',
      async () => {
        const group = unique('group');
        const make = (labels: Record<string, string>) => {
          const name = unique('listed');
          return {
            name,
            stream: engine.run(
              t.spec(
                name,
                { kind: 'until-sigint', exitCode: 0 },
                { labels: { 'io.claude-pod.contract.group': group, ...labels } },
              ),
            ),
          };
        };
        const a1 = make({ 'io.claude-pod.contract.a': '1' });
        const a2 = make({ 'io.claude-pod.contract.a': '2' });
        const a1b = make({ 'io.claude-pod.contract.a': '1', 'io.claude-pod.contract.b': 'x' });
        await Promise.all([a1, a2, a1b].map((c) => printed(c.stream, 'ready\n')));
        // One of them exited: still listed.
        await engine.kill(a1.name, 'SIGINT');
        await a1.stream.done;
        const listed = await engine.list({
          'io.claude-pod.contract.group': group,
          'io.claude-pod.contract.a': '1',
        });
        expect(listed.map((c) => c.name).sort()).toEqual([a1.name, a1b.name].sort());
        const byName = new Map(listed.map((c) => [c.name, c]));
        expect(byName.get(a1.name)).toMatchObject({ status: 'exited' });
        expect(byName.get(a1b.name)).toMatchObject({
          status: 'running',
          labels: expect.objectContaining({ 'io.claude-pod.contract.b': 'x' }),
        });
        expect(byName.get(a1b.name)!.id).toMatch(/^[0-9a-f]{12,64}$/);
        expect(await engine.list({ 'io.claude-pod.contract.group': `${group}-none` })).toEqual([]);
        await Promise.all([a2, a1b].map((c) => engine.remove(c.name)));
      },
      LIFE_MS,
    );

    it(
      'remove: at once, even a container that ignores SIGTERM; absent afterwards; absent is no error',
      async () => {
        const name = unique('stubborn');
        const stream = engine.run(t.spec(name, { kind: 'stubborn' }));
        await printed(stream, 'ready\n');
        const t0 = Date.now();
        await engine.remove(name);
        expect(Date.now() - t0).toBeLessThan(8_000);
        expect(await engine.inspect(name)).toBeNull();
        await stream.done;
        await expect(engine.remove(name)).resolves.toBeUndefined();
        await expect(engine.remove(unique('never-there'))).resolves.toBeUndefined();
      },
      LIFE_MS,
    );

    it(
      'remove: an exited container is gone afterwards, and its name can be used again',
      async () => {
        const name = unique('reuse');
        await collect(engine.run(t.spec(name, { kind: 'print', text: 'one\n', exitCode: 0 })));
        await engine.remove(name);
        expect(await engine.inspect(name)).toBeNull();
        const again = await collect(engine.run(t.spec(name, { kind: 'print', text: 'two\n', exitCode: 0 })));
        expect(again.bytes.toString('utf8')).toBe('two\n');
      },
      LIFE_MS,
    );

    it(
      'stats: a sample of a running container (where the host gives one); null when absent',
      async () => {
        const name = unique('stats');
        const stream = engine.run(t.spec(name, { kind: 'until-sigint', exitCode: 0 }));
        await printed(stream, 'ready\n');
        const sample = await engine.stats(name);
        if (t.facts.stats) {
          expect(sample).not.toBeNull();
          expect(sample!.memoryBytes).toBeGreaterThan(0);
          expect(sample!.cpuPercent).toBeGreaterThanOrEqual(0);
        } else {
          expect(sample).toBeNull();
        }
        await engine.remove(name);
        expect(await engine.stats(name)).toBeNull();
      },
      LIFE_MS,
    );

    it(
      'OOM: a container over its memory limit exits 137 with oomKilled (where limits are enforced)',
      async () => {
        const name = unique('oom');
        const { end } = await collect(engine.run(t.spec(name, { kind: 'memory-hog' }, { memory: '64m' })));
        const state = await eventually('the exited state', async () => {
          const s = await engine.inspect(name);
          return s?.status === 'exited' ? s : undefined;
        });
        if (t.facts.limits) {
          expect(end.exitCode).toBe(137);
          expect(state).toMatchObject({ exitCode: 137, oomKilled: true });
        } else {
          // Nothing stops it here: it allocates what it asked for and ends normally.
          expect(state).toMatchObject({ oomKilled: false });
        }
      },
      LIFE_MS,
    );

    it(
      'run of an image the engine does not have: a failed stream, no container, no pull',
      async () => {
        const name = unique('noimage');
        const spec = {
          ...t.spec(name, { kind: 'print', text: 'x', exitCode: 0 }),
          image: 'localhost/claude-pod-no-such-image:contract',
        };
        const t0 = Date.now();
        const { bytes, end } = await collect(engine.run(spec));
        expect(bytes.length).toBe(0);
        expect(end.exitCode === null ? end.spawnError : end.exitCode).not.toBe(0);
        expect(Date.now() - t0).toBeLessThan(20_000);
        expect(await engine.inspect(name)).toBeNull();
      },
      LIFE_MS,
    );

    describe('a client that cannot reach its engine: unknown, never a guess', () => {
      it(
        'inspect, list, kill, remove and imageExists throw RUNTIME_FAILED; stats is null',
        async () => {
          const broken = t.unreachable();
          await expectUnknown(broken.inspect('claude-pod-anything'));
          await expectUnknown(broken.list({ 'io.claude-pod.contract.any': '1' }));
          await expectUnknown(broken.kill('claude-pod-anything', 'SIGINT'));
          await expectUnknown(broken.remove('claude-pod-anything'));
          await expectUnknown(broken.imageExists(t.image));
          expect(await broken.stats('claude-pod-anything')).toBeNull();
          const { end } = await collect(
            broken.run(t.spec(unique('unreachable'), { kind: 'print', text: 'x', exitCode: 0 })),
          );
          expect(end.exitCode === 0 && end.spawnError === null).toBe(false);
        },
        LIFE_MS,
      );
    });

    describe('a client that never answers: every call ends at its timeout', () => {
      it(
        'throws RUNTIME_FAILED (timedOut) within the timeout; stats is null',
        async () => {
          const { engine: silent, close } = await t.hanging();
          try {
            const timeoutMs = 700;
            const timed = async (call: Promise<unknown>) => {
              const t0 = Date.now();
              await expectUnknown(call, { details: expect.objectContaining({ timedOut: true }) });
              const took = Date.now() - t0;
              expect(took).toBeGreaterThanOrEqual(timeoutMs - 50);
              expect(took).toBeLessThan(timeoutMs + 5_000);
            };
            await timed(silent.inspect('claude-pod-anything', { timeoutMs }));
            await timed(silent.list({ 'io.claude-pod.contract.any': '1' }, { timeoutMs }));
            await timed(silent.kill('claude-pod-anything', 'SIGINT', { timeoutMs }));
            await timed(silent.remove('claude-pod-anything', { timeoutMs }));
            await timed(silent.imageExists(t.image, { timeoutMs }));
            const t0 = Date.now();
            expect(await silent.stats('claude-pod-anything', { timeoutMs })).toBeNull();
            expect(Date.now() - t0).toBeLessThan(timeoutMs + 5_000);
          } finally {
            await close();
          }
        },
        LIFE_MS,
      );
    });
  });
}
