/**
 * `claude-pod demo`: one real job in the real container, watched with the live view. With no
 * credentials on this host the model API is the built-in mock (so the demo runs offline); with
 * ANTHROPIC_API_KEY or Claude OAuth credentials it runs against the real API. State lives in
 * a temporary directory, so the demo never touches the configured sessions.
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MockApi } from '../../mock-api/index.js';
import { parseConfig, type ConfigInput } from '../../shared/config.js';
import { EXIT, exitCodeForJob } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { createView } from '../live/create-view.js';
import { watchJob } from '../live/watch-job.js';
import { configOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';

const FILE = 'hello.txt';
const CONTENT = 'Hello from Claude Code, running in a claude-pod container.\n';

export const register: Register = (program, ctx) => {
  program
    .command('demo')
    .summary('run one short job end to end (offline against a built-in mock without credentials)')
    .option('--mock', 'use the built-in mock of the Anthropic API even when credentials exist')
    .addOption(configOption())
    .action(async (flags: ConfigFlag & { mock?: boolean }) => ctx.exit(await demo(flags, ctx.io)));
};

async function demo(flags: ConfigFlag & { mock?: boolean }, io: CliIo): Promise<number> {
  const [{ readCliConfigInput }, { resolveCredential }, { createMockApi, formatDirective }] =
    await Promise.all([
      import('../../setup/config-file.js'),
      import('../../supervisor/auth.js'),
      import('../../mock-api/index.js'),
    ]);
  const say = (text: string) => io.stdout.write(`claude-pod demo: ${text}\n`);
  const input: ConfigInput = {
    sessionsDir: join(tmpdir(), 'claude-pod-demo', 'sessions'),
    workspacesDir: join(tmpdir(), 'claude-pod-demo', 'workspaces'),
    ...(await readCliConfigInput(flags.config)),
  };
  const credential = flags.mock
    ? null
    : await resolveCredential({ credentialsPath: parseConfig(input).credentialsPath });
  let mock: MockApi | null = null;
  let env: NodeJS.ProcessEnv | undefined;
  if (!credential) {
    mock = await createMockApi({ host: '127.0.0.1', port: 0 });
    input.apiBaseUrl = mock.url ?? '';
    env = { ...process.env, ANTHROPIC_API_KEY: 'demo-key-for-the-mock' };
    say(`no credentials found: using the built-in mock of the Anthropic API at ${mock.url}`);
  } else {
    say(`using ${credential.source === 'api-key-env' ? 'ANTHROPIC_API_KEY' : 'Claude OAuth credentials'}`);
  }
  const config = parseConfig(input);
  const prompt =
    `Create a file named ${FILE} in the current directory containing exactly: ${CONTENT.trim()}` +
    (mock ? `\n${formatDirective('write-file', { path: FILE, content: CONTENT })}` : '');
  const started = Date.now();
  // The demo owns its own temporary state directory for as long as it follows its one job.
  const { openOwner } = await import('../../supervisor/create.js');
  const api = await openOwner(config, env ? { env } : {});
  try {
    const { jobId, sessionId } = await api.start({ prompt });
    const view = createView('human', io);
    view.message(`job ${jobId} · session ${sessionId} · image ${config.image}`);
    const final = await watchJob(api, jobId, view, { errorDetails: { image: config.image } });
    view.close();
    if (!final || final.status !== 'completed') return final ? exitCodeForJob(final) : EXIT.failed;
    const workspace = api.sessions().find((s) => s.sessionId === sessionId)?.workspaceDir;
    const written = workspace ? await readFile(join(workspace, FILE), 'utf8').catch(() => null) : null;
    if (written === null) {
      say(`the job completed but ${FILE} is not in its workspace ${workspace ?? '(unknown)'}`);
      return EXIT.failed;
    }
    say(`${join(workspace ?? '', FILE)} contains: ${JSON.stringify(written)}`);
    say(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return EXIT.ok;
  } finally {
    await api.close({ cancelRunning: true });
    await mock?.close();
  }
}
