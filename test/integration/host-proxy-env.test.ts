/**
 * The host's proxy settings, with a password in them, never reach a job's container (podman
 * copies HTTP(S)_PROXY into containers by default; Claude Code then tried that proxy and the job
 * failed). Real runtime, real image, real Claude Code CLI; the job's Bash command prints the
 * container's environment, and `inspect` of the running container is read whole.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { containerNameFor } from '../../src/runtime/labels.js';
import { until } from './helpers/processes.js';
import { mustHave, requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, type Stack } from './helpers/stack.js';

const env = await requireRuntime();

const PASSWORD = 'pr0xy-Passw0rd-7f3a9c';
/** Every spelling podman and Claude Code read; the port is closed, so any use of it fails. */
const HOST_PROXY = {
  HTTPS_PROXY: `http://operator:${PASSWORD}@127.0.0.1:9`,
  https_proxy: `http://operator:${PASSWORD}@127.0.0.1:9`,
  HTTP_PROXY: `http://operator:${PASSWORD}@127.0.0.1:9`,
  http_proxy: `http://operator:${PASSWORD}@127.0.0.1:9`,
  ALL_PROXY: `socks5://operator:${PASSWORD}@127.0.0.1:9`,
  FTP_PROXY: `http://operator:${PASSWORD}@127.0.0.1:9`,
};

describe.skipIf(!env.available)(`the host's proxy variables${skipNote(env)}`, () => {
  let stack: Stack;
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    // Set before the supervisor starts, so its worker threads and runtime clients could inherit them.
    for (const [key, value] of Object.entries(HOST_PROXY)) {
      saved.set(key, process.env[key]);
      process.env[key] = value;
    }
    stack = await startStack();
  });

  afterAll(async () => {
    await stack?.dispose();
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('HTTPS_PROXY with a password on the host: absent from inspect and from the container, and the job completes', async () => {
    const sup = stack.supervisor;
    const command = 'sleep 4; env; tr "\\0" "\\n" < /proc/1/environ';
    const { jobId } = await sup.start({ prompt: `env ${formatDirective('bash', { command })}` });

    // The whole inspect of the running container, as any user of the runtime would read it.
    const rt = mustHave(env).spec;
    const name = containerNameFor(jobId);
    const inspected = await until(
      `the container of ${jobId}`,
      async () => {
        const r = await execa(rt.command, [...rt.globalArgs, 'inspect', name], { reject: false });
        return r.exitCode === 0 ? r.stdout : undefined;
      },
      60_000,
    );
    expect(inspected).toContain(name);
    expect(inspected).not.toContain(PASSWORD);
    expect(inspected.toLowerCase()).not.toMatch(/(https?|all|ftp)_proxy=/);
    // Claude Code would try that proxy (a closed port here) and never reach the API.
    const final = await stack.waitForEnd(jobId);
    expect(final.status, `${final.errorCode}: ${final.error}`).toBe('completed');
    // The Bash tool's output (the container's environment) is in the job's output: no proxy there.
    const page = await sup.output(jobId, { limit: 1024 * 1024 });
    expect(page.hasMore).toBe(false);
    const text = page.content;
    expect(text).toContain('CLAUDE_POD_API_SOCKET');
    expect(text).not.toContain(PASSWORD);
    expect(text.toLowerCase()).not.toMatch(/(https?|all|ftp)_proxy=/);
  }, 120_000);
});
