/**
 * The plugin inside a real OpenClaw gateway (openclaw pinned by scripts/openclaw-env.mjs, run on
 * Node 24): packed and installed with the README's own commands, character for character
 * (`npm pack`, `openclaw plugins install npm-pack:…`), first started with the seed's config as it
 * is (its `ghcr.io/…` image: a warning with the fix, IMAGE_NOT_FOUND naming it), driven through
 * `POST /tools/invoke` with no model, jobs answered by the in-repo mock of the Anthropic API (the
 * key comes from openclaw.json's `env.vars`, as the README's offline try-out says), and
 * the completion notification received by the gateway's `/hooks/agent`, whose agent turn runs
 * against the same mock (the gateway's model provider). Under CI=true a missing prerequisite
 * fails the file; elsewhere the suite is skipped with the reason in its title.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockApi, formatDirective, type MockApi } from '../../src/mock-api/index.js';
import { configJsonSchema } from '../../src/shared/config.js';
import { SEED_IMAGE } from '../../src/tools/image-hint.js';
import { claudeCodeTools, toAgentTool } from '../../src/tools/index.js';
import { isAlive, readPidFile } from '../../src/proxy/pid-file.js';
import { proxyPaths } from '../../src/proxy/paths.js';
import { LABEL_OWNER } from '../../src/runtime/labels.js';
import { ownerIdFor } from '../../src/supervisor/owner.js';
import { loadRegistry } from '../../src/supervisor/registry-file.js';
import { statePaths } from '../../src/supervisor/state-paths.js';
import { reapByLabel, requireRuntime, skipNote } from '../integration/helpers/runtime.js';
import { freePort, Gateway, type OpenclawEnvInfo, type ToolCallResult } from './helpers/gateway.js';
import { HookRelay } from './helpers/hook-relay.js';
import { releaseDisksUnder } from '../fixtures/disks.js';
import { SEED_EXAMPLE_CONFIG } from '../fixtures/seed-config.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
const TOOL_NAMES = claudeCodeTools.map((t) => t.name);
const GATEWAY_TOKEN = 'e2e-gateway-token-0123456789abcdef';
const HOOKS_TOKEN = 'e2e-hooks-token-fedcba9876543210';
/** The key the jobs' requests carry (through the host-side proxy); the gateway's own turns use another. */
const CLAUDE_KEY = 'claude-pod-e2e-key';

const runtime = await requireRuntime();

/** The seed README's `openclaw.json` block, verbatim except the load path. */
function seedPluginsBlock(loadPath: string): Record<string, unknown> {
  return {
    enabled: true,
    load: { paths: [loadPath] },
    entries: {
      'claude-code': {
        enabled: true,
        config: { ...SEED_EXAMPLE_CONFIG },
      },
    },
  };
}

/** The one line of the README's shell blocks that starts with `prefix`, exactly as written. */
async function readmeCommand(prefix: string): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```(?:bash|sh)\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  const lines = blocks.flatMap((b) => b.split('\n')).filter((l) => l.startsWith(prefix));
  expect(lines, `README lines starting with ${JSON.stringify(prefix)}`).toHaveLength(1);
  return lines[0]!;
}

describe.skipIf(!runtime.available)(
  `claude-code plugin in a real OpenClaw gateway${skipNote(runtime)}`,
  () => {
    let root: string;
    let oc: OpenclawEnvInfo;
    let mock: MockApi;
    let gateway: Gateway;
    let tgz: string;
    let sessionsDir: string;
    let relay: HookRelay;
    /** The cancelled job, whose notification is refused until the gateway restarts. */
    let cancelledJobId = '';
    let stoppedAt = 0;
    let restartedAt = 0;
    const graded: Array<{ name: string; result: ToolCallResult; expectFailed: boolean }> = [];
    const timings: Record<string, number> = {};
    const t0 = Date.now();
    const mark = (label: string) => (timings[label] = Math.round((Date.now() - t0) / 100) / 10);

    async function call(tool: string, args: Record<string, unknown>): Promise<ToolCallResult> {
      const res = await gateway.invoke(tool, args);
      expect(res, `POST /tools/invoke ${tool} → ${JSON.stringify(res)}`).toMatchObject({
        httpStatus: 200,
        ok: true,
      });
      return res.result!;
    }

    async function pollStatus(jobId: string, until: (status: string) => boolean, timeoutMs = 240_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await call('claude_code_status', { job_id: jobId });
        const status = String(result.details.status);
        if (until(status)) return result;
        if (status !== 'pending' && status !== 'running') {
          throw new Error(`job ${jobId} ended as ${status}, not as expected: ${result.content[0]?.text}`);
        }
        if (Date.now() > deadline)
          throw new Error(`job ${jobId} still ${status}: ${result.content[0]?.text}`);
        await new Promise((r) => setTimeout(r, 400));
      }
    }

    async function readAllOutput(
      jobId: string,
      limit: number,
    ): Promise<{ text: string; pages: number; size: number }> {
      let offset = 0;
      let text = '';
      let pages = 0;
      let size = 0;
      for (;;) {
        const page = await call('claude_code_output', { job_id: jobId, offset, limit });
        const d = page.details as {
          content: string;
          nextOffset: number;
          hasMore: boolean;
          size: number;
          offset: number;
        };
        expect(d.offset).toBe(offset);
        text += d.content;
        pages += 1;
        size = d.size;
        offset = d.nextOffset;
        if (!d.hasMore) return { text, pages, size };
      }
    }

    async function registryJob(jobId: string): Promise<Record<string, unknown> | undefined> {
      // As the supervisor reads it: the document and the settled jobs' own files.
      const { state } = await loadRegistry(statePaths(sessionsDir, join(root, 'unused-workspaces'))).catch(
        () => ({ state: { jobs: {} as Record<string, unknown> } }),
      );
      return state.jobs[jobId] as Record<string, unknown> | undefined;
    }

    async function waitUntil<T>(
      what: string,
      probe: () => Promise<T | undefined | false>,
      timeoutMs = 120_000,
    ) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await probe();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${await gateway.tail(40)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }

    /** `openclaw config validate --json`, whichever exit code it chooses for an invalid config. */
    async function validateConfig(): Promise<{ valid: boolean; text: string }> {
      const text = await gateway.cli(['config', 'validate', '--json']).then(
        (r) => r.stdout,
        (error: Error) => error.message,
      );
      return { valid: /"valid"\s*:\s*true/.test(text), text };
    }

    beforeAll(async () => {
      const script = pathToFileURL(join(repoRoot, 'scripts', 'openclaw-env.mjs')).href;
      const { ensureOpenclawEnv } = (await import(script)) as {
        ensureOpenclawEnv: () => Promise<OpenclawEnvInfo>;
      };
      oc = await ensureOpenclawEnv();
      mark('openclaw env');
      root = await mkdtemp(join(tmpdir(), 'claude-pod-e2e-'));
      // mkdtemp makes it 0700; with a rootful runtime the container's user must reach the workspaces.
      await chmod(root, 0o755);
      sessionsDir = join(root, 'claude-sessions');
      // The plugin as users get it, packed by the README's own command in the checkout (its
      // prepack builds dist/ from scratch); the tarball then sits where the install command looks.
      const version = (
        JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
      ).version;
      const name = `claude-pod-${version}.tgz`;
      await run('bash', ['-c', await readmeCommand('npm pack')], { cwd: repoRoot, maxBuffer: 1 << 24 });
      tgz = join(root, name);
      await copyFile(join(repoRoot, name), tgz);
      await rm(join(repoRoot, name), { force: true });
      mark('build + pack');
      mock = await createMockApi({ host: '127.0.0.1', port: 0 });
      gateway = new Gateway({
        root,
        oc,
        port: await freePort(),
        gatewayToken: GATEWAY_TOKEN,
        // No key in the gateway's environment: openclaw.json's env.vars supplies it (baseConfig).
        env: { ANTHROPIC_API_KEY: '', CLAUDE_POD_LOG_LEVEL: 'debug' },
      });
      await gateway.init();
      relay = new HookRelay(gateway.opts.port);
      await relay.start();
    });

    afterAll(async () => {
      await gateway?.cleanup();
      // A failed test can leave a job running (a stopped gateway detaches, it does not kill):
      // remove this run's containers and its model-API proxy daemon.
      if (sessionsDir && runtime.available) {
        await reapByLabel(runtime.engine, `${LABEL_OWNER}=${ownerIdFor(sessionsDir)}`);
        const proxy = await readPidFile(proxyPaths(join(sessionsDir, '.proxy')).pidFile).catch(() => null);
        if (proxy && isAlive(proxy.pid)) process.kill(proxy.pid, 'SIGTERM');
      }
      await mock?.close();
      await relay?.close();
      if (root) await releaseDisksUnder(root);
      if (root) await rm(root, { recursive: true, force: true });
      console.info(`[e2e] timings (s since start): ${JSON.stringify(timings)}`);
    });

    function baseConfig(): Record<string, unknown> {
      return {
        gateway: {
          mode: 'local',
          port: gateway.opts.port,
          bind: 'loopback',
          auth: { mode: 'token', token: GATEWAY_TOKEN },
        },
        hooks: { enabled: true, token: HOOKS_TOKEN },
        env: { vars: { ANTHROPIC_API_KEY: CLAUDE_KEY } },
        update: { checkOnStart: false },
        models: {
          catalogRefresh: { enabled: false },
          providers: {
            mock: {
              baseUrl: mock.url,
              apiKey: 'gateway-mock-key',
              api: 'anthropic-messages',
              models: [
                { id: 'mock-1', name: 'Mock 1', input: ['text'], contextWindow: 200000, maxTokens: 4096 },
              ],
            },
          },
        },
        agents: { defaults: { model: { primary: 'mock/mock-1' } } },
        logging: { file: join(gateway.logDir, 'gateway.log') },
      };
    }

    it("validates the seed's example plugins block verbatim (the load path aside)", async () => {
      const unpacked = join(root, 'unpacked');
      await mkdir(unpacked, { recursive: true });
      await run('tar', ['-xzf', tgz, '-C', unpacked, '--strip-components=1']);
      await gateway.writeConfig({ ...baseConfig(), plugins: seedPluginsBlock(unpacked) });
      expect(await validateConfig()).toMatchObject({ valid: true });

      // The same config with a typo in a key is refused, naming the key: the schema really applies.
      const typo = seedPluginsBlock(unpacked);
      const entry = (typo.entries as Record<string, { config: Record<string, unknown> }>)['claude-code']!;
      entry.config.sessionIdleTimout = 10;
      await gateway.writeConfig({ ...baseConfig(), plugins: typo });
      const refused = await validateConfig();
      expect(refused.valid).toBe(false);
      expect(refused.text).toMatch(/additional properties: \\?"sessionIdleTimout/);
      mark('seed config validated');
    });

    it("installs with the README's command and `plugins inspect` lists the six tools and the service", async () => {
      // A seed user's config (minus the load path, which pointed at the seed), then the README's
      // install command as written, run by a shell in the folder holding the tarball.
      const seed = seedPluginsBlock('');
      delete seed.load;
      await gateway.writeConfig({ ...baseConfig(), plugins: seed });
      const install = await readmeCommand('openclaw plugins install npm-pack:');
      expect(install).toContain(`npm-pack:./${tgz.split('/').pop()}`);
      await gateway.shell(install);
      mark('installed');
      const { stdout } = await gateway.shell(await readmeCommand('openclaw plugins inspect claude-code'));
      const inspect = JSON.parse(stdout) as {
        plugin: {
          status: string;
          toolNames: string[];
          services: string[];
          source: string;
          configJsonSchema: unknown;
        };
      };
      expect(inspect.plugin.status).toBe('loaded');
      expect(inspect.plugin.toolNames).toEqual(TOOL_NAMES);
      expect(inspect.plugin.services).toEqual(['claude-code-supervisor']);
      expect(inspect.plugin.source).toContain(join(gateway.stateDir, 'npm', 'projects'));
      const { $schema: _ignored, ...schema } = configJsonSchema();
      expect(inspect.plugin.configJsonSchema).toEqual(schema);
      mark('inspected');
    });

    it("with the seed's image, warns once at start with the fix, and claude_code_start names the image", async () => {
      const config = await gateway.readConfig();
      const plugins = config.plugins as { entries: Record<string, { config: Record<string, unknown> }> };
      expect(plugins.entries['claude-code']!.config.image).toBe(SEED_IMAGE);
      await gateway.start();
      try {
        const warning = await waitUntil('the image warning', async () =>
          (await gateway.logText())
            .split('\n')
            .find((l) => l.includes(`the configured image ${SEED_IMAGE} does not exist`)),
        );
        expect(warning).toMatch(
          /remove the "image" key from plugins\.entries\["claude-code"\]\.config and restart the gateway/,
        );
        expect(warning).toContain('`claude-pod setup --config ~/.openclaw/openclaw.json`');
        const started = await gateway.invoke('claude_code_start', { prompt: 'hello' });
        expect(started.result?.details).toMatchObject({ ok: false, error: { code: 'IMAGE_NOT_FOUND' } });
        const hint = (started.result?.details as { error: { hint: string } }).error.hint;
        expect(hint).toContain(SEED_IMAGE);
        expect(hint).toMatch(/seed plugin's image .* remove the "image" key/);
        expect(hint).not.toMatch(/^[^:]*run `claude-pod setup`\s*$/);
        graded.push({ name: 'image not found', result: started.result!, expectFailed: true });
        // Once: one line at most in each log the gateway writes (its output, its log file).
        for (const text of await gateway.logTexts()) {
          const lines = text
            .split('\n')
            .filter((l) => l.includes(`the configured image ${SEED_IMAGE} does not exist`));
          expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(1);
        }
        // The key came from env.vars: no warning about credentials.
        expect(await gateway.logText()).not.toContain('no Anthropic credentials');
      } finally {
        await gateway.stop();
      }
      mark('seed image warned');
    });

    it('starts the gateway with the plugin supervising jobs', async () => {
      const config = await gateway.readConfig();
      const plugins = config.plugins as { entries: Record<string, { config: Record<string, unknown> }> };
      // The warning's fix: no "image" key (the default, built by `claude-pod setup`). Then the
      // test's own settings: no network for the container, temporary directories, the mock API.
      // No hooksToken: it comes from the gateway's own config. Notifications go through the test's
      // relay in front of /hooks/agent, which can refuse them for a while (the URL the plugin
      // builds from the gateway's port by default is covered by plugin-config.test.ts).
      const { image: _seedImage, ...seedConfig } = plugins.entries['claude-code']!.config;
      plugins.entries['claude-code']!.config = {
        ...seedConfig,
        network: 'none',
        sessionsDir,
        workspacesDir: join(root, 'workspaces'),
        apiBaseUrl: mock.url,
        notifyWebhookUrl: relay.url,
      };
      await gateway.writeConfig(config);
      await gateway.start();
      mark('gateway up');
    });

    let firstJob: { jobId: string; sessionId: string };

    it('runs a job to completion through /tools/invoke and pages its output', async () => {
      const bad = await call('claude_code_status', {});
      expect(bad.details).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
      expect(bad.content[0]!.text).toMatch(/"job_id" is required/);
      expect(bad.content[0]!.text).not.toMatch(/\n\s+at /);
      graded.push({ name: 'bad arguments', result: bad, expectFailed: true });

      const content = 'hello from the OpenClaw e2e\n';
      const started = await call('claude_code_start', {
        prompt: `Write hello.txt. ${formatDirective('write-file', { path: 'hello.txt', content })}`,
      });
      const { jobId, sessionId } = started.details as { jobId: string; sessionId: string };
      expect(jobId).toMatch(/^job-/);
      expect(JSON.parse(started.content[0]!.text)).toMatchObject({ jobId, sessionId });
      graded.push({ name: 'start', result: started, expectFailed: false });
      firstJob = { jobId, sessionId };

      const done = await pollStatus(jobId, (s) => s !== 'pending' && s !== 'running');
      mark('job 1 ended');
      const job = (done.details as { job: Record<string, unknown> }).job;
      expect(done.details.status, done.content[0]!.text).toBe('completed');
      expect(job).toMatchObject({ jobId, sessionId, status: 'completed', exitCode: 0, error: null });
      expect(JSON.parse(done.content[0]!.text)).toMatchObject({ status: 'completed', exitCode: 0 });
      graded.push({ name: 'status completed', result: done, expectFailed: false });
      await expect(readFile(join(root, 'workspaces', sessionId, 'hello.txt'), 'utf8')).resolves.toBe(content);

      const whole = await call('claude_code_output', { job_id: jobId, limit: 1024 * 1024 });
      const full = whole.details as { content: string; size: number; hasMore: boolean };
      expect(full.hasMore).toBe(false);
      expect(full.size).toBe(job.outputSize);
      expect(whole.content[0]!.text).toMatch(
        new RegExp(`^\\[job: ${jobId}\\] \\[status: completed\\] \\[bytes 0-`),
      );
      graded.push({ name: 'output', result: whole, expectFailed: false });
      const paged = await readAllOutput(jobId, 700);
      expect(paged.pages).toBeGreaterThan(1);
      expect(paged.text).toBe(full.content);
      expect(Buffer.byteLength(paged.text)).toBe(full.size);

      const listed = await call('claude_code_sessions', {});
      const sessions = (listed.details as { sessions: Array<{ sessionId: string; messageCount: number }> })
        .sessions;
      expect(sessions).toContainEqual(expect.objectContaining({ sessionId, messageCount: 1 }));
      expect(listed.content[0]!.text).toContain(`Session: ${sessionId}`);
      graded.push({ name: 'sessions', result: listed, expectFailed: false });
    });

    it('delivers the completion notification to /hooks/agent, whose agent turn runs on the mock', async () => {
      // `notified` is only set after /hooks/agent answered 2xx to the hooks token.
      await waitUntil(
        'the notification to be accepted',
        async () => (await registryJob(firstJob.jobId))?.notified,
      );
      const turn = await mock.waitForRequest(
        (r) =>
          r.path === '/v1/messages' && JSON.stringify(r.body).includes(`Claude Code job ${firstJob.jobId}`),
        120_000,
      );
      expect(JSON.stringify(turn.body)).toMatch(/completed after [\d.]+s; output [\d.]+ KB/);
      mark('notification turn seen');
    });

    it('cancels a running job', async () => {
      const started = await call('claude_code_start', {
        prompt: `Stream for a long time. ${formatDirective('slow-stream', { count: 600, delay: 250 })}`,
      });
      const { jobId } = started.details as { jobId: string };
      cancelledJobId = jobId;
      await pollStatus(jobId, (s) => s === 'running', 120_000);
      // From now on /hooks/agent is unreachable through the relay: this job's notification fails.
      relay.refuse();
      const cancelled = await call('claude_code_cancel', { job_id: jobId });
      expect(cancelled.details).toMatchObject({ ok: true, cancelled: true, status: 'cancelled' });
      expect(cancelled.content[0]!.text).toContain(`Job ${jobId} cancelled.`);
      graded.push({ name: 'cancel', result: cancelled, expectFailed: false });
      const after = await call('claude_code_status', { job_id: jobId });
      expect(after.details).toMatchObject({ ok: true, status: 'cancelled', job: { errorCode: 'CANCELLED' } });
      graded.push({ name: 'status cancelled', result: after, expectFailed: false });
      const again = await call('claude_code_cancel', { job_id: jobId });
      expect(again.details).toMatchObject({ ok: true, cancelled: false, status: 'cancelled' });
      await waitUntil('a refused notification attempt for the cancelled job', async () =>
        relay.attemptsFor(jobId).some((a) => a.mode === 'refuse'),
      );
      mark('job 2 cancelled');
    });

    it('keeps a job running across a gateway restart and its output is whole', async () => {
      const count = 30;
      const started = await call('claude_code_start', {
        prompt: `Stream slowly. ${formatDirective('slow-stream', { count, delay: 1000 })}`,
      });
      const { jobId } = started.details as { jobId: string };
      await pollStatus(jobId, (s) => s === 'running', 120_000);
      await gateway.stop();
      stoppedAt = Date.now();
      mark('gateway stopped');
      expect((await registryJob(jobId))?.status).toBe('running');
      // The cancelled job's notification was tried and refused, and is still owed.
      expect(relay.attemptsFor(cancelledJobId).length).toBeGreaterThan(0);
      expect(relay.attemptsFor(cancelledJobId).every((a) => a.mode === 'refuse' && a.status === 503)).toBe(
        true,
      );
      expect((await registryJob(cancelledJobId))?.notified).toBe(false);
      relay.forward();
      restartedAt = Date.now();
      await gateway.start();
      mark('gateway restarted');
      const done = await pollStatus(jobId, (s) => s !== 'pending' && s !== 'running');
      mark('job 3 ended');
      const job = (
        done.details as { job: { status: string; outputSize: number; claude: { result: string | null } } }
      ).job;
      expect(job.status, done.content[0]!.text).toBe('completed');
      const expected = Array.from({ length: count }, (_, i) => `chunk ${i + 1}`).join(' ');
      expect(job.claude.result).toBe(expected);
      const output = await readAllOutput(jobId, 4096);
      expect(output.size).toBe(job.outputSize);
      const lines = output.text.split('\n').filter(Boolean);
      const events = lines.map((line) => JSON.parse(line) as { type?: string });
      expect(events.filter((e) => e.type === 'result')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'system')).toHaveLength(1);
      expect(output.text.endsWith('\n')).toBe(true);
    });

    it('delivers every notification, including one interrupted by the restart', async () => {
      const jobs = Object.keys(
        (await loadRegistry(statePaths(sessionsDir, join(root, 'unused-workspaces')))).state.jobs,
      );
      expect(jobs).toHaveLength(3);
      for (const jobId of jobs) {
        await waitUntil(`the notification of ${jobId}`, async () => (await registryJob(jobId))?.notified);
      }
      // The cancelled job's notification, refused before the stop, was sent again by the restarted
      // gateway's plugin under the same Idempotency-Key, and accepted.
      const attempts = relay.attemptsFor(cancelledJobId);
      const delivered = attempts.filter((a) => a.status >= 200 && a.status < 300);
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.at).toBeGreaterThan(restartedAt);
      expect(attempts.filter((a) => a.at < stoppedAt).every((a) => a.status === 503)).toBe(true);
      expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(1);
      const turns = (needle: string) =>
        mock
          .messageRequests()
          .filter((r) => JSON.stringify(r.body).includes(needle) && r.headers['x-api-key'] !== CLAUDE_KEY);
      await mock.waitForRequest((r) => JSON.stringify(r.body).includes('cancelled after'), 60_000);
      // An accepted hook runs its agent turn asynchronously: wait for each one to reach the model.
      for (const jobId of jobs) {
        await waitUntil(
          `the agent turn for ${jobId}`,
          async () => turns(`Claude Code job ${jobId} `).length >= 1,
          60_000,
        );
      }
      mark('all notified');
    });

    it("grades every result the way OpenClaw does and matches each tool's outputSchema", async () => {
      const schemas = new Map(
        claudeCodeTools.map((t) => [t.name, toAgentTool(t, async () => never()).outputSchema]),
      );
      const toolOf: Record<string, string> = {
        'bad arguments': 'claude_code_status',
        'image not found': 'claude_code_start',
        start: 'claude_code_start',
        'status completed': 'claude_code_status',
        output: 'claude_code_output',
        sessions: 'claude_code_sessions',
        cancel: 'claude_code_cancel',
        'status cancelled': 'claude_code_status',
      };
      const cases = graded.map((g) => ({
        name: g.name,
        result: g.result,
        outputSchema: schemas.get(toolOf[g.name]!),
      }));
      const child = execFile(oc.nodeBin, [join(import.meta.dirname, 'helpers', 'grade.mjs'), oc.openclawDir]);
      const stdout = new Promise<string>((resolveOut, reject) => {
        let text = '';
        child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
        child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
        child.once('exit', (code) =>
          code === 0 ? resolveOut(text) : reject(new Error(`grade.mjs exited ${code}`)),
        );
      });
      child.stdin?.end(JSON.stringify(cases));
      const verdicts = JSON.parse(await stdout) as Array<{
        name: string;
        failed: boolean;
        schemaErrors: string[];
      }>;
      expect(verdicts).toEqual(
        graded.map((g) => ({ name: g.name, failed: g.expectFailed, schemaErrors: [] })),
      );
    });
  },
);

function never(): never {
  throw new Error('not used');
}
