import { describe, expect, it } from 'vitest';
import { configJsonSchema, parseConfig } from '../../../src/shared/config.js';
import { ErrorCodes } from '../../../src/shared/errors.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../../src/workers/stream-json.js';
import { SEED_EXAMPLE_CONFIG } from '../../fixtures/seed-config.js';

const seedExample = SEED_EXAMPLE_CONFIG;

describe('config', () => {
  it("accepts the seed's example block verbatim and keeps its values", () => {
    const config = parseConfig(seedExample);
    expect(config.network).toBe('bridge');
    expect(config.cpus).toBe('1.0');
    expect(config.sessionsDir.endsWith('/.openclaw/claude-sessions')).toBe(true);
    expect(config.sessionsDir.startsWith('/')).toBe(true);
  });

  it("has the seed's defaults for the seed's keys", () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      runtime: 'podman',
      startupTimeout: 30,
      idleTimeout: 120,
      memory: '512m',
      cpus: '1.0',
      sessionIdleTimeout: 3600,
      apparmorProfile: '',
      maxOutputSize: 10485760,
      notifyWebhookUrl: 'http://localhost:18789/hooks/agent',
      hooksToken: '',
    });
  });

  it("maxLineBytes: 4 MiB by default (the worker's default too), 64 KiB to 256 MiB", () => {
    expect(parseConfig({}).maxLineBytes).toBe(4 * 1024 * 1024);
    expect(parseConfig({}).maxLineBytes).toBe(DEFAULT_MAX_LINE_BYTES);
    expect(parseConfig({ maxLineBytes: 65536 }).maxLineBytes).toBe(65536);
    for (const bad of [0, 65535, 256 * 1024 * 1024 + 1, 1.5, '4m']) {
      expect(() => parseConfig({ maxLineBytes: bad })).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
      );
    }
  });

  it('names an unknown key', () => {
    try {
      parseConfig({ imagee: 'x' });
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe(ErrorCodes.INVALID_CONFIG);
      expect((error as { details: { issues: string[] } }).details.issues.join()).toContain('imagee');
    }
  });

  it('names an invalid key', () => {
    try {
      parseConfig({ memory: 512, runtime: 'lxc' });
      expect.unreachable();
    } catch (error) {
      const issues = (error as { details: { issues: string[] } }).details.issues.join();
      expect(issues).toContain('"memory"');
      expect(issues).toContain('"runtime"');
    }
  });

  it('exports a JSON schema with every key', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, unknown>;
      additionalProperties: unknown;
    };
    for (const key of Object.keys(seedExample)) expect(schema.properties).toHaveProperty(key);
    expect(schema.additionalProperties).toBe(false);
  });

  it('limits disks by default: a 4g workspace, 1g of Claude state, /tmp well below the memory limit', () => {
    const c = parseConfig({});
    expect([c.maxWorkspaceSize, c.maxStateSize, c.tmpfsSize, c.homeSize]).toEqual([
      '4g',
      '1g',
      '128m',
      '96m',
    ]);
    expect(parseConfig({ maxWorkspaceSize: '0', maxStateSize: '16m' })).toMatchObject({
      maxWorkspaceSize: '0',
      maxStateSize: '16m',
    });
  });

  it('refuses a disk limit too small for a filesystem', () => {
    expect(() => parseConfig({ maxWorkspaceSize: '8m' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('"maxWorkspaceSize"'),
      }),
    );
    expect(() => parseConfig({ maxStateSize: 'lots' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });
});
