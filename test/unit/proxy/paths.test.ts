import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capabilityFrom } from '../../../src/proxy/headers.js';
import { isAllowed } from '../../../src/proxy/route.js';
import {
  activityFile,
  isValidJobId,
  jobSocketPath,
  prepareSocketRoot,
  proxyPaths,
} from '../../../src/proxy/paths.js';
import { configFingerprint } from '../../../src/proxy/settings.js';
import { hashToken, newCapabilityToken } from '../../../src/proxy/token-file.js';

describe('proxy paths and small pieces', () => {
  const made: string[] = [];
  afterEach(async () => {
    for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the socket paths short whatever the state dir and job id', () => {
    const paths = proxyPaths(`/very/${'long/'.repeat(60)}state`);
    const longest = jobSocketPath(paths, `job-${'x'.repeat(120)}`);
    // A job socket is first bound under a temporary name 15 bytes longer (socket-file.ts).
    expect(Buffer.byteLength(longest) + 15).toBeLessThanOrEqual(107);
    expect(Buffer.byteLength(paths.controlSocket) + 15).toBeLessThanOrEqual(107);
    expect(paths.socketRoot).toMatch(/claude-pod-v2-\d+-[0-9a-f]{12}$/);
    expect(proxyPaths('/a').socketRoot).not.toBe(proxyPaths('/b').socketRoot);
    expect(proxyPaths('/a/../a').socketRoot).toBe(proxyPaths('/a').socketRoot);
    expect(jobSocketPath(paths, 'job-1')).not.toBe(jobSocketPath(paths, 'job-2'));
  });

  it('takes only plain job ids as file names', () => {
    for (const ok of ['job-1', 'job-m3x1k2-4f9a0c1b2d', 'a.b_c']) expect(isValidJobId(ok), ok).toBe(true);
    for (const bad of ['', '.', '..', '../x', 'a/b', 'a..b', '-x', 'x'.repeat(129), 'a\u0000b']) {
      expect(isValidJobId(bad), bad).toBe(false);
    }
    const paths = proxyPaths('/s');
    expect(activityFile(paths, 'job-1')).toBe('/s/activity/job-1');
    expect(() => activityFile(paths, '../escape')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('refuses a socket dir that is a symlink (someone else may own the target)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'cp-paths-'));
    made.push(base);
    await mkdir(join(base, 'target'));
    await symlink(join(base, 'target'), join(base, 'link'));
    await expect(prepareSocketRoot(join(base, 'link'))).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(prepareSocketRoot(join(base, 'fresh'))).resolves.toBeUndefined();
  });

  it('fingerprints the configuration without containing it', () => {
    const a = configFingerprint('https://api.anthropic.com/', { kind: 'api-key', value: 'sk-1' });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(configFingerprint('https://api.anthropic.com', { kind: 'api-key', value: 'sk-1' }));
    expect(a).not.toBe(configFingerprint('https://api.anthropic.com', { kind: 'api-key', value: 'sk-2' }));
    expect(a).not.toBe(configFingerprint('https://api.anthropic.com', { kind: 'oauth', value: 'sk-1' }));
    expect(a).not.toBe(configFingerprint('http://127.0.0.1:9', { kind: 'api-key', value: 'sk-1' }));
  });

  it('makes distinct random tokens and reads them from either header', () => {
    const t = newCapabilityToken();
    expect(t).not.toBe(newCapabilityToken());
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(capabilityFrom({ 'x-api-key': t })).toBe(t);
    expect(capabilityFrom({ authorization: `Bearer ${t}` })).toBe(t);
    expect(capabilityFrom({ authorization: `Basic ${t}` })).toBeNull();
    expect(capabilityFrom({})).toBeNull();
  });

  it('allows only the model API routes', () => {
    expect(isAllowed('POST', '/v1/messages?beta=true')).toBe(true);
    expect(isAllowed('POST', '/v1/messages/count_tokens?beta=true')).toBe(true);
    expect(isAllowed('GET', '/v1/models?limit=20')).toBe(true);
    expect(isAllowed('GET', '/v1/models/claude-opus-4-1')).toBe(true);
    expect(isAllowed('POST', '/v1/messages/')).toBe(false);
    expect(isAllowed('POST', '/v1/messages#x')).toBe(false);
    expect(isAllowed('POST', '/v1/complete')).toBe(false);
    expect(isAllowed('GET', '/v1/models/a/b')).toBe(false);
  });
});
