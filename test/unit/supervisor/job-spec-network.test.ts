import { describe, expect, it } from 'vitest';
import { buildRunArgs } from '../../../src/runtime/run-args.js';
import { parseConfig } from '../../../src/shared/config.js';
import { isClaudePodError } from '../../../src/shared/errors.js';
import { buildJobSpec } from '../../../src/supervisor/job-spec.js';
import { proxyOptionsFor } from '../../../src/supervisor/proxy-options-for.js';
import type { JobRecord } from '../../../src/supervisor/records.js';
import { queuedJob } from '../../fixtures/job-record.js';

const TOKEN = 'cpod_capability-token-of-this-job';

const job = (): JobRecord => queuedJob('job-net-0001');

const container = (input: Record<string, unknown>) => {
  const spec = buildJobSpec({
    config: parseConfig(input),
    runtime: { kind: 'podman', command: 'podman', globalArgs: [] },
    ownerId: 'owner',
    job: job(),
    containerName: 'claude-pod-job-net',
    outputPath: '/s/out.jsonl',
    workspaceDir: '/w/sess-1',
    claudeDir: '/s/sessions/sess-1/claude',
    mode: 'run',
    api: { socketDir: '/s/.proxy', token: TOKEN, kind: 'oauth' },
    runtimeDir: '/s/runtime',
  }).container;
  if (!spec) throw new Error('no container');
  return spec;
};

describe('job spec: network modes', () => {
  it('"proxy": --network none, proxy variables with the token only as secret variables, loopback direct', () => {
    const c = container({ network: 'proxy', egressAllowlist: ['registry.npmjs.org'] });
    expect(c.network).toBe('none');
    const url = `http://claude-pod:${TOKEN}@127.0.0.1:8119`;
    for (const key of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy'])
      expect(c.secretEnv[key]).toBe(url);
    expect(c.env.NO_PROXY).toBe('127.0.0.1,localhost,::1');
    expect(c.env.no_proxy).toBe('127.0.0.1,localhost,::1');
    expect(c.env.ANTHROPIC_BASE_URL).toBe('http://127.0.0.1:8119');
    const argv = buildRunArgs('podman', c);
    expect(argv.join(' ')).not.toContain(TOKEN);
    expect(argv).toContain('HTTPS_PROXY');
    expect(argv.slice(argv.indexOf('--network'), argv.indexOf('--network') + 2)).toEqual([
      '--network',
      'none',
    ]);
  });

  it('"none", "bridge" and "host" get no proxy variables', () => {
    for (const network of ['none', 'bridge', 'host']) {
      const c = container({ network });
      expect(c.network).toBe(network);
      expect(Object.keys(c.secretEnv)).toEqual(['CLAUDE_CODE_OAUTH_TOKEN']);
      expect(c.env.NO_PROXY).toBeUndefined();
    }
  });

  it('passes the allowlist to the proxy only in "proxy" mode, and refuses a bad entry naming it', () => {
    expect(
      proxyOptionsFor(parseConfig({ network: 'proxy', egressAllowlist: ['*.github.com'] })).egress,
    ).toEqual({
      allowlist: ['*.github.com'],
    });
    expect(proxyOptionsFor(parseConfig({ network: 'bridge', egressAllowlist: ['x.org'] })).egress).toBeNull();
    let error: unknown;
    try {
      parseConfig({ egressAllowlist: ['https://example.com/path'] });
    } catch (e) {
      error = e;
    }
    expect(isClaudePodError(error) && error.code).toBe('INVALID_CONFIG');
    expect((error as Error).message).toContain('egressAllowlist.0');
    expect((error as Error).message).toContain('https://example.com/path');
  });
});
