import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

  it.skipIf(process.getuid?.() === 0)(
    'fails on a read-only dir (non-root only: root bypasses modes)',
    async () => {
      const dir = await tmp();
      await chmod(dir, 0o500);
      expect((await writableDirCheck('sessionsDir', 'sessionsDir', join(dir, 'x'))).status).toBe('fail');
    },
  );
});
