/**
 * A command at a real terminal, and the screen a person would see. The pseudo-terminal comes
 * from python's pty module (test/fixtures/pty-run.py: node-pty needs a native build), and
 * @xterm/headless turns the bytes into a screen: what is on it, what the cursor's line shows
 * at each moment, and whether anything set the window title.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import xterm from '@xterm/headless';

const PTY_RUN = resolve(import.meta.dirname, '../../fixtures/pty-run.py');

export interface PtySession {
  /** Every byte the program wrote to the terminal. */
  bytes(): Buffer;
  /** The whole buffer (scrollback and screen), one string per row, trailing blanks trimmed. */
  screen(): string[];
  /** Each distinct text the cursor's row showed after a write (the live status line lives there). */
  cursorLines(): string[];
  titleChanges(): string[];
  write(data: string): void;
  waitForScreen(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<number>;
}

export function runInPty(
  argv: string[],
  opts: { cols?: number; rows?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): PtySession {
  const cols = opts.cols ?? 100;
  const rows = opts.rows ?? 40;
  const term = new xterm.Terminal({ cols, rows, scrollback: 5000, allowProposedApi: true });
  const titles: string[] = [];
  term.onTitleChange((t) => titles.push(t));
  const chunks: Buffer[] = [];
  const seen: string[] = [];
  let pending = Promise.resolve();
  const child = spawn('python3', [PTY_RUN, String(cols), String(rows), ...argv], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    pending = pending.then(
      () =>
        new Promise<void>((done) =>
          term.write(chunk, () => {
            const buffer = term.buffer.active;
            const line = buffer.getLine(buffer.baseY + buffer.cursorY)?.translateToString(true) ?? '';
            if (line && seen.at(-1) !== line) seen.push(line);
            done();
          }),
        ),
    );
  });
  const exit = new Promise<number>((resolveExit) =>
    child.once('close', (code) => void pending.then(() => resolveExit(code ?? -1))),
  );
  const screen = () => {
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    while (lines.length && lines.at(-1) === '') lines.pop();
    return lines;
  };
  return {
    bytes: () => Buffer.concat(chunks),
    screen,
    cursorLines: () => [...seen],
    titleChanges: () => [...titles],
    write: (data) => void child.stdin.write(data),
    async waitForScreen(pattern, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let exited = false;
      void exit.then(() => (exited = true));
      for (;;) {
        await pending;
        const hit = screen().find((l) => pattern.test(l));
        if (hit) return hit;
        if (exited || Date.now() > deadline) {
          throw new Error(
            `screen never showed ${pattern}${exited ? ' (the program exited)' : ''}:\n${screen().join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exit,
  };
}
