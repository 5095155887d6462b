/* eslint-disable no-control-regex -- this test looks for terminal control characters */
/**
 * `claude-pod run` as a person sees it: in a real pseudo-terminal, through whole jobs in the
 * real container with the real Claude Code CLI (the only stand-in is the model API, the in-repo
 * mock), the bytes turned into a screen by a terminal emulator. Then the same command piped,
 * which must print plain lines. Then Ctrl-C, which must ask, and cancel when told to.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { startCliConfig } from './helpers/cli-config.js';
import { runInPty } from './helpers/pty.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';

const env = await requireRuntime();
const repo = resolve(import.meta.dirname, '../..');
const MAIN = join(repo, 'src', 'cli', 'main.ts');
/** The CLI from source, through tsx (resolved here: the child runs in a temporary directory). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const ESC = '\x1b';
/** What a hostile container prints: set the window title, clear the screen. */
const EVIL = `${ESC}]0;pwned\x07${ESC}[2J`;

describe.skipIf(!env.available)(`claude-pod run, live${skipNote(env)}`, () => {
  let dir: string;
  let configPath: string;
  let dispose: (() => Promise<void>) | undefined;
  let childEnv: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => [
    process.execPath,
    '--import',
    TSX,
    MAIN,
    ...args,
    '--config',
    configPath,
  ];

  beforeAll(async () => {
    ({ dir, configPath, dispose } = await startCliConfig(env, 'claude-pod-cli-', { cancelGraceSeconds: 2 }));
    // A person's terminal: no colour overrides from the test runner, a real TERM.
    const { FORCE_COLOR: _f, NO_COLOR: _n, ...rest } = process.env;
    childEnv = { ...rest, TERM: 'xterm-256color', ANTHROPIC_API_KEY: 'sk-test-cli-live-view' };
  });

  afterAll(async () => {
    await dispose?.();
  });

  it('shows the tool call, a live status line and the summary, and writes the file', async () => {
    const prompt = `Write a.txt ${formatDirective('write-file', { path: 'a.txt', content: 'hi\n' })}`;
    const session = runInPty(cli('run', prompt), { env: childEnv, cwd: dir });
    expect(await session.exit).toBe(0);
    const screen = session.screen();
    expect(screen[0]).toMatch(/^job job-\S+ · session sess-\S+ · image /);
    expect(screen).toContain('→ Write a.txt');
    expect(screen).toContain('Done.');
    expect(screen.find((l) => l.startsWith('✓'))).toMatch(
      /^✓ completed in \d+\.\ds · 2 turns · [\d.]+k tokens \([\d.]+k in, \d+ out\) · cost \$\d+\.\d{4} · exit 0$/,
    );
    expect(screen).toContain('  files changed: a.txt');
    // The status line, as it stood on the cursor's row while the job ran (erased at the end).
    expect(session.cursorLines()).toContainEqual(
      expect.stringMatching(
        /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] running \d+\.\ds · \d+ turns? · [\d.k]+ tokens · cost \S+ · (active|processing|idle)$/,
      ),
    );
    expect(screen.some((l) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /.test(l))).toBe(false);
    const workspace = screen.find((l) => l.startsWith('  workspace: '))!.slice('  workspace: '.length);
    await expect(readFile(join(workspace, 'a.txt'), 'utf8')).resolves.toBe('hi\n');
  });

  it('what a container prints never reaches the terminal as control sequences', async () => {
    // Claude Code refuses raw control characters in a command; printf makes them in the container.
    const command = String.raw`printf '\033]0;pwned\007\033[2J'; echo failing; sleep 2; exit 3`;
    const prompt = `Run it ${formatDirective('bash', { command, text: `finished ${EVIL}here` })}`;
    const session = runInPty(cli('run', prompt), { env: childEnv, cwd: dir });
    expect(await session.exit).toBe(0);
    const screen = session.screen();
    expect(session.titleChanges()).toEqual([]);
    const bytes = session.bytes().toString('latin1');
    expect(bytes).not.toContain(`${ESC}]`);
    expect(bytes).not.toContain(`${ESC}[2J`);
    expect(bytes).not.toContain('\x07');
    // Nothing was cleared: the first line is still there, and the tool call shows its command.
    expect(screen[0]).toMatch(/^job job-/);
    expect(screen).toContain(
      String.raw`→ Bash printf '\033]0;pwned\007\033[2J'; echo failing; sleep 2; exit 3`,
    );
    expect(screen).toContainEqual(expect.stringMatching(/^ {2}✗ /));
    expect(screen).toContain('finished here');
    // The sequences were really there: the stored stream (--raw, untouched) carries them.
    const jobId = /^job (job-\S+)/.exec(screen[0]!)![1]!;
    const [node, ...args] = cli('logs', jobId, '--raw');
    const { stdout: raw } = await promisify(execFile)(node!, args, { env: childEnv, cwd: dir });
    expect(raw).toContain(String.raw`\u001b]0;pwned\u0007\u001b[2J`);
    expect(
      raw
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('{')),
    ).toBe(true);
  });

  it('piped: the same job as plain lines, without a single escape sequence', async () => {
    const prompt = `Write b.txt ${formatDirective('write-file', { path: 'b.txt', content: `x${EVIL}\n`, text: `ok ${EVIL}` })}`;
    const [node, ...args] = cli('run', prompt);
    const { stdout } = await promisify(execFile)(node!, args, { env: childEnv, cwd: dir });
    expect(stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toContain('→ Write b.txt');
    expect(lines).toContain('ok');
    expect(lines.find((l) => l.startsWith('✓ completed in'))).toMatch(/· exit 0$/);
    expect(lines).toContain('  files changed: b.txt');
  });

  it('Ctrl-C asks whether to cancel or detach; "c" cancels the job and exits 130', async () => {
    const prompt = `Stream ${formatDirective('slow-stream', { count: 200, delay: 200 })}`;
    const session = runInPty(cli('run', prompt), { env: childEnv, cwd: dir });
    await session.waitForScreen(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] running .*· active$/);
    session.write('\x03');
    await session.waitForScreen(/^Interrupted: \[c\] cancel the job {2}\[d\] detach/);
    session.write('c');
    expect(await session.exit).toBe(130);
    const screen = session.screen();
    expect(screen).toContainEqual(expect.stringMatching(/^cancelling job job-/));
    expect(screen.find((l) => l.startsWith('■'))).toMatch(/^■ cancelled after \d+\.\ds · /);
  });
});
