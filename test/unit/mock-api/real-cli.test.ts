/**
 * The real Claude Code CLI, run on the host against the mock (write-file scenario): the fastest
 * check that the mock speaks what the pinned CLI expects. The CLI is installed into
 * `.cache/claude-cli` at the version the image pins (container/build/versions.json) when it is
 * not there yet; the integration tests run the same CLI inside the container.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockApi, type MockApi } from '../../../src/mock-api/index.js';
import { claudeCommand } from '../../../src/supervisor/job-spec.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const PREFIX = join(ROOT, '.cache', 'claude-cli');
const CLI = join(PREFIX, 'node_modules', '.bin', 'claude');
const PINNED = (
  JSON.parse(readFileSync(join(ROOT, 'container', 'build', 'versions.json'), 'utf8')) as {
    claudeCode: string;
  }
).claudeCode;

/** Installs the pinned CLI once (a few seconds from npm's cache); its native binary needs no install script. */
async function ensureCli(): Promise<void> {
  const versionFile = join(PREFIX, '.version');
  if (existsSync(CLI) && existsSync(versionFile) && readFileSync(versionFile, 'utf8') === PINNED) return;
  await execa('npm', ['install', '--prefix', PREFIX, '--no-audit', '--no-fund', '--no-save', PINNED]);
  writeFileSync(versionFile, PINNED);
}

interface CliRun {
  code: number | null;
  lines: Record<string, unknown>[];
  stderr: string;
}

function runCli(cwd: string, env: Record<string, string>, prompt: string): Promise<CliRun> {
  return new Promise((done, fail) => {
    // The argv jobs give Claude Code, without the leading `claude` (CLI is its path here).
    const args = claudeCommand(null).slice(1);
    const child = spawn(CLI, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // As in a job's container: the prompt arrives on stdin, never in argv.
    child.stdin.end(prompt);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', fail);
    child.on('close', (code) => {
      const lines = stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      done({ code, lines, stderr });
    });
  });
}

describe('real Claude Code CLI against the mock', () => {
  beforeAll(ensureCli, 180_000);
  let api: MockApi | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await api?.close();
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('write-file: the CLI calls Write, the file appears in cwd, the run succeeds', async () => {
    api = await createMockApi();
    const cwd = await mkdtemp(join(tmpdir(), 'mock-cli-cwd-'));
    const config = await mkdtemp(join(tmpdir(), 'mock-cli-config-'));
    dirs.push(cwd, config);
    const run = await runCli(
      cwd,
      {
        IS_SANDBOX: '1',
        ANTHROPIC_BASE_URL: api.url as string,
        ANTHROPIC_API_KEY: 'test',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CONFIG_DIR: config,
      },
      '[[mock:write-file path=hello.txt content="hello from the mock\\n"]] write the file',
    );
    expect(run.code, run.stderr).toBe(0);
    const [init] = run.lines;
    expect(init).toMatchObject({ type: 'system', subtype: 'init', cwd });
    expect(init?.['tools']).toContain('Write');
    const assistantBlocks = run.lines
      .filter((l) => l['type'] === 'assistant')
      .map((l) => (l['message'] as { content: Record<string, unknown>[] }).content[0]);
    expect(assistantBlocks).toEqual([
      expect.objectContaining({
        type: 'tool_use',
        name: 'Write',
        input: { file_path: join(cwd, 'hello.txt'), content: 'hello from the mock\n' },
      }),
      expect.objectContaining({ type: 'text', text: 'Done.' }),
    ]);
    expect(run.lines.find((l) => l['type'] === 'user')).toMatchObject({
      message: { content: [expect.objectContaining({ type: 'tool_result' })] },
    });
    expect(run.lines.at(-1)).toMatchObject({
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'Done.',
      num_turns: 2,
    });
    expect(await readFile(join(cwd, 'hello.txt'), 'utf8')).toBe('hello from the mock\n');

    const requests = api.messageRequests();
    expect(requests.map((r) => r.scenario)).toEqual(['write-file', 'write-file']);
    expect(requests[0]?.headers['x-api-key']).toBe('test');
  });
});
