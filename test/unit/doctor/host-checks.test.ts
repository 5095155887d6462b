import { execFile } from 'node:child_process';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../../src/doctor/checks.js';
import { apparmorCheck, authCheck, writableDirCheck } from '../../../src/doctor/host-checks.js';
import { parseConfig } from '../../../src/shared/config.js';

const tmp = () => mkdtemp(join(tmpdir(), 'doctor-'));

describe('authCheck', () => {
  it('reports which authentication exists without printing a secret', async () => {
    const config = parseConfig({ credentialsPath: '/nonexistent/creds.json' });
    const check = await authCheck(config, { ANTHROPIC_API_KEY: 'sk-ant-secret-value' });
    expect(check.status).toBe('ok');
    expect(JSON.stringify(check)).not.toContain('sk-ant-secret-value');
  });

  it('finds a credentials file', async () => {
    const dir = await tmp();
    const path = join(dir, '.credentials.json');
    await writeFile(path, '{"claudeAiOauth":{"accessToken":"tok-secret"}}');
    const check = await authCheck(parseConfig({ credentialsPath: path }), {});
    expect(check.status).toBe('ok');
    expect(check.value).toContain(path);
    expect(JSON.stringify(check)).not.toContain('tok-secret');
  });

  it('warns (with a fix) when nothing is available', async () => {
    const check = await authCheck(parseConfig({ credentialsPath: '/nonexistent/creds.json' }), {});
    expect(check.status).toBe('warn');
    expect(check.fix).toBeTruthy();
  });
});

describe('apparmorCheck', () => {
  it('fails only when a profile is configured but AppArmor is unavailable', async () => {
    const dir = await tmp();
    const off = join(dir, 'enabled-n');
    const on = join(dir, 'enabled-y');
    await writeFile(off, 'N\n');
    await writeFile(on, 'Y\n');
    expect((await apparmorCheck(parseConfig({}), off)).status).toBe('info');
    expect((await apparmorCheck(parseConfig({ apparmorProfile: 'claude' }), off)).status).toBe('fail');
    expect(
      (await apparmorCheck(parseConfig({ apparmorProfile: 'claude' }), join(dir, 'absent'))).status,
    ).toBe('fail');
    expect((await apparmorCheck(parseConfig({ apparmorProfile: 'claude' }), on)).status).toBe('info');
  });
});

describe('writableDirCheck', () => {
  it('accepts an existing writable dir and a creatable one', async () => {
    const dir = await tmp();
    expect((await writableDirCheck('sessionsDir', 'sessionsDir', dir)).status).toBe('ok');
    expect((await writableDirCheck('sessionsDir', 'sessionsDir', join(dir, 'a', 'b'))).status).toBe('ok');
  });

  it('fails under a regular file', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'file'), '');
    const check = await writableDirCheck('workspacesDir', 'workspacesDir', join(dir, 'file', 'sub'));
    expect(check.status).toBe('fail');
    expect(check.fix).toBeTruthy();
  });

  it('fails on a dir this user cannot write (as root: checked as nobody, since root bypasses modes)', async () => {
    const dir = await tmp();
    await chmod(dir, 0o755);
    const readOnly = join(dir, 'read-only');
    const writable = join(dir, 'writable');
    await mkdirMode(readOnly, 0o555);
    await mkdirMode(writable, 0o777);
    expect((await writableDirCheckAsUnprivileged(join(readOnly, 'x'))).status).toBe('fail');
    // The same check, the same user, a dir it may write: so the failure above is the mode's doing.
    expect((await writableDirCheckAsUnprivileged(join(writable, 'x'))).status).toBe('ok');
  });
});

const NOBODY = 65534;

async function mkdirMode(path: string, mode: number): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path);
  await chmod(path, mode);
}

/**
 * writableDirCheck as an unprivileged user: this process itself, or — when the tests run as root,
 * as CI does — a child process running as nobody (root passes every mode check, so a read-only
 * dir cannot fail for root).
 */
async function writableDirCheckAsUnprivileged(path: string): Promise<Check> {
  if (process.getuid?.() !== 0) return writableDirCheck('sessionsDir', 'sessionsDir', path);
  const module = resolve('src/doctor/host-checks.ts');
  const script =
    `import { writableDirCheck } from ${JSON.stringify(module)};` +
    `console.log(JSON.stringify(await writableDirCheck('sessionsDir', 'sessionsDir', ${JSON.stringify(path)})));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      uid: NOBODY,
      gid: NOBODY,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' },
      cwd: process.cwd(),
    },
  );
  return JSON.parse(stdout) as Check;
}
