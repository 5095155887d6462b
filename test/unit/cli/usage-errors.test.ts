/**
 * Every argument error is a usage error: exit 2 and a message that names the option (or
 * argument) and its right form — never INTERNAL. Parsing happens before any supervisor is
 * opened, so these run in-process against fake streams; one case goes through the real bin.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/program.js';

function fakeIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    stdin: { on: () => undefined, off: () => undefined, resume: () => undefined, pause: () => undefined },
    env: {},
    out: () => out,
    err: () => err,
  };
}

async function cli(...argv: string[]) {
  const io = fakeIo();
  const code = await runCli(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('usage errors exit 2 and name what to fix', () => {
  it.each([
    [
      ['output', 'job-1', '--offset', '-1'],
      /output: option '--offset <bytes>' argument '-1' is invalid\. expected a byte offset, a whole number ≥ 0 \(e\.g\. --offset 0/,
    ],
    [['output', 'job-1', '--offset=abc'], /option '--offset <bytes>' argument 'abc' is invalid/],
    [
      ['output', 'job-1', '--limit', '0'],
      /option '--limit <bytes>' argument '0' is invalid\. expected a number of bytes from 1 to 1048576/,
    ],
    [['run', '--help-me', 'x'], /run: unknown option '--help-me'/],
    [['run'], /run: missing required argument 'prompt'/],
    [['run', '--json', '--raw', 'x'], /option '--json' cannot be used with option '--raw'/],
    [['run', 'x', '--session'], /option '-s, --session <id>' argument missing/],
    [['logs'], /logs: missing required argument 'job'/],
    [['status', 'job-1', 'job-2'], /status: too many arguments/],
    [
      ['cleanup', '--older-than', 'soon'],
      /option '--older-than <seconds>' argument 'soon' is invalid\. expected a number of seconds/,
    ],
    [
      ['mock-api', '--port', '99999'],
      /option '-p, --port <port>' argument '99999' is invalid\. expected a TCP port/,
    ],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--verbose'], /unknown option '--verbose'/],
  ])('%j', async (argv, message) => {
    const { code, err, out } = await cli(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).not.toMatch(/INTERNAL|\n\s+at /);
    expect(out).toBe('');
  });

  it('shows the command usage after the error', async () => {
    const { err } = await cli('output', 'job-1', '--offset', '-1');
    expect(err).toContain('usage: claude-pod output [options] <job>\n(see: claude-pod output --help)');
  });

  it('help and version exit 0', async () => {
    expect(await cli('--version')).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^\d+\.\d+\.\d+\n$/),
    });
    const help = await cli('run', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--cancel-on-exit/);
    expect((await cli('help', 'logs')).out).toMatch(/-f, --follow/);
  });

  it('the installed bin exits 2 as well (no INTERNAL from the process wrapper)', async () => {
    const main = resolve(import.meta.dirname, '../../../src/cli/main.ts');
    const error = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', main, 'output', 'j', '--offset', '-1'],
      {
        cwd: resolve(import.meta.dirname, '../../..'),
      },
    ).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(2);
    expect(error?.stderr).toMatch(/'--offset <bytes>' argument '-1' is invalid/);
  });
});
