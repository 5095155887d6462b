import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMockApi, type MockApi } from '../../mock-api/index.js';
import { formatDirective } from '../../mock-api/directives.js';
import { parseConfig, type ConfigInput } from '../../shared/config.js';
import { isClaudePodError } from '../../shared/errors.js';
import { readCliConfigInput } from '../../setup/config-file.js';
import { resolveCredential } from '../../supervisor/auth.js';
import { openOwner } from '../../supervisor/create.js';
import type { JobStatus } from '../../supervisor/job-view.js';

const FILE = 'hello.txt';
const CONTENT = 'Hello from Claude Code, running in a claude-pod container.\n';

/**
 * `claude-pod demo`: one real job in the real container. With no credentials on this host the
 * model API is the built-in mock (so the demo runs offline); with ANTHROPIC_API_KEY or Claude
 * OAuth credentials it runs against the real API.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      mock: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('Usage: claude-pod demo [--config file.json] [--mock]\n');
    return 0;
  }
  const fileConfig = await readCliConfigInput(values.config);
  const input: ConfigInput = {
    sessionsDir: join(tmpdir(), 'claude-pod-demo', 'sessions'),
    workspacesDir: join(tmpdir(), 'claude-pod-demo', 'workspaces'),
    ...fileConfig,
  };
  const credential = values.mock
    ? null
    : await resolveCredential({ credentialsPath: parseConfig(input).credentialsPath });
  let mock: MockApi | null = null;
  let env: NodeJS.ProcessEnv | undefined;
  if (!credential) {
    mock = await createMockApi({ host: '127.0.0.1', port: 0 });
    input.apiBaseUrl = mock.url ?? '';
    env = { ...process.env, ANTHROPIC_API_KEY: 'demo-key-for-the-mock' };
    say(`No credentials found: using the built-in mock of the Anthropic API at ${mock.url}`);
  } else {
    say(`Using ${credential.source === 'api-key-env' ? 'ANTHROPIC_API_KEY' : 'Claude OAuth credentials'}`);
  }
  const config = parseConfig(input);

  const prompt =
    `Create a file named ${FILE} in the current directory containing exactly: ${CONTENT.trim()}` +
    (mock ? `\n${formatDirective('write-file', { path: FILE, content: CONTENT })}` : '');

  const started = Date.now();
  const supervisor = await openOwner(config, env ? { env } : {});
  try {
    say(`image ${config.image}, runtime ${supervisor.runtime.kind} ${supervisor.runtime.version}`);
    const { jobId, sessionId } = await supervisor.start({ prompt });
    say(`started job ${jobId} in session ${sessionId}`);
    // Live progress: each new stream-json event, summarised, as the worker writes it.
    let offset = 0;
    let reading = Promise.resolve();
    const follow = () =>
      (reading = reading.then(async () => {
        for (;;) {
          const page = await supervisor.output(jobId, { offset, limit: 256 * 1024 });
          const complete = page.content.slice(0, page.content.lastIndexOf('\n') + 1);
          for (const line of complete.split('\n').filter(Boolean)) say(`  ${summarizeEvent(line)}`);
          offset += Buffer.byteLength(complete);
          if (!page.hasMore || complete.length === 0) return;
        }
      }));
    supervisor.on('job:progress', (s) => {
      if (s.jobId !== jobId) return;
      say(progressLine(s));
      void follow();
    });
    const final = await new Promise<JobStatus>((resolve) => {
      supervisor.on('job:end', (s) => s.jobId === jobId && resolve(s));
    });
    await follow();
    say(progressLine(final));
    const workspace = supervisor.sessions().find((s) => s.sessionId === sessionId)?.workspaceDir;
    if (final.status !== 'completed') {
      say(`job ${final.status}: [${final.errorCode}] ${final.error}`);
      return 1;
    }
    const written = workspace ? await readFile(join(workspace, FILE), 'utf8').catch(() => null) : null;
    say(`Claude's result: ${final.claude.result ?? '(none)'}`);
    say(
      `turns ${final.claude.numTurns}, cost $${final.claude.costUsd ?? 0}, output ${final.outputSize} bytes`,
    );
    if (written === null) {
      say(`the job completed but ${FILE} is not in the workspace ${workspace}`);
      return 1;
    }
    say(`${join(workspace ?? '', FILE)} contains: ${JSON.stringify(written)}`);
    say(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (error) {
    if (isClaudePodError(error)) {
      say(`error [${error.code}]: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await supervisor.close({ cancelRunning: true });
    await mock?.close();
  }
}

function progressLine(s: JobStatus): string {
  return `[${s.status}] ${s.elapsedSeconds.toFixed(1)}s, ${s.outputSize} bytes of output, ${s.activityState}`;
}

function summarizeEvent(line: string): string {
  try {
    const e = JSON.parse(line) as {
      type?: string;
      subtype?: string;
      model?: string;
      result?: string;
      message?: {
        content?: Array<{ type?: string; name?: string; text?: string; input?: unknown; content?: unknown }>;
      };
    };
    const block = e.message?.content?.[0];
    if (e.type === 'system' && e.subtype === 'init') return `Claude Code started (model ${e.model ?? '?'})`;
    if (e.type === 'assistant' && block?.type === 'tool_use') {
      return `tool call: ${block.name} ${JSON.stringify(block.input).slice(0, 100)}`;
    }
    if (e.type === 'assistant' && block?.type === 'text')
      return `Claude says: ${String(block.text).slice(0, 100)}`;
    if (e.type === 'user' && block?.type === 'tool_result') {
      return `tool result: ${JSON.stringify(block.content).slice(0, 100)}`;
    }
    if (e.type === 'result') return `result (${e.subtype}): ${String(e.result).slice(0, 100)}`;
    return [e.type, e.subtype].filter(Boolean).join('/');
  } catch {
    return line.slice(0, 100);
  }
}

function say(text: string): void {
  process.stdout.write(`claude-pod demo: ${text}\n`);
}
