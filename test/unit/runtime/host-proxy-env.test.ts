import { describe, expect, it } from 'vitest';
import { clientEnv } from '../../../src/runtime/cli-engine.js';
import { buildRunArgs } from '../../../src/runtime/run-args.js';
import { containerSpec } from '../../fixtures/container-spec.js';

const spec = containerSpec({ secretEnv: { ANTHROPIC_API_KEY: 'cpod_token' } });

/**
 * Two layers keep the host's proxy settings (and their passwords) out of a job's container: the
 * runtime client never gets them, and podman is told not to copy the ones it has itself (its
 * containers.conf may set http_proxy = true). test/integration/host-proxy-env.test.ts proves the
 * whole with the real runtime; each layer is held here on its own.
 */
describe("the host's proxy settings", () => {
  it('never reach the runtime client, nor do the host’s model credentials', () => {
    const host = {
      PATH: '/usr/bin',
      HOME: '/root',
      HTTPS_PROXY: 'http://u:secret@proxy:3128',
      https_proxy: 'http://u:secret@proxy:3128',
      HTTP_PROXY: 'http://u:secret@proxy:3128',
      http_proxy: 'http://u:secret@proxy:3128',
      ALL_PROXY: 'socks5://u:secret@proxy:1080',
      NO_PROXY: 'localhost',
      ANTHROPIC_API_KEY: 'sk-real',
      CLAUDE_CODE_OAUTH_TOKEN: 'oauth-real',
    };
    const env = clientEnv({ kind: 'podman', command: 'podman', globalArgs: [] }, {}, host);
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root' });
    expect(JSON.stringify(env)).not.toContain('secret');
    // The job's token goes through the client's environment by name, never its argv.
    const withToken = clientEnv({ kind: 'podman', command: 'podman', globalArgs: [] }, spec.secretEnv, host);
    expect(withToken.ANTHROPIC_API_KEY).toBe('cpod_token');
    const args = buildRunArgs('podman', spec);
    expect(args.join(' ')).not.toContain('cpod_token');
    expect(args).toContain('ANTHROPIC_API_KEY');
  });

  it('are not copied by podman into the container (--http-proxy=false)', () => {
    const args = buildRunArgs('podman', spec);
    expect(args).toContain('--http-proxy=false');
    expect(args.indexOf('--http-proxy=false')).toBeLessThan(args.indexOf('img'));
  });
});
