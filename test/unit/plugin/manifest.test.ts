import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, parseConfig } from '../../../src/shared/config.js';
import { PLUGIN_DESCRIPTION, PLUGIN_ID, PLUGIN_NAME } from '../../../src/plugin/register.js';
import { toolNames } from '../../../src/tools/index.js';
import { SEED_EXAMPLE_CONFIG } from '../../fixtures/seed-config.js';

const root = join(import.meta.dirname, '../../..');
const manifestPath = join(root, 'openclaw.plugin.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  openclaw?: unknown;
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
};

/** The JSON Schema OpenClaw validates plugin config with: generated from the library's zod schema. */
function expectedConfigSchema(): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = configJsonSchema();
  return schema;
}

describe('openclaw.plugin.json', () => {
  it('has the configSchema generated from the zod config schema (UPDATE_MANIFEST=1 rewrites it)', () => {
    if (process.env.UPDATE_MANIFEST === '1') {
      writeFileSync(
        manifestPath,
        JSON.stringify({ ...manifest, configSchema: expectedConfigSchema() }, null, 2) + '\n',
      );
    }
    expect(
      manifest.configSchema,
      'openclaw.plugin.json drifted from src/shared/config.ts: run UPDATE_MANIFEST=1 npx vitest run test/unit/plugin/manifest.test.ts',
    ).toEqual(expectedConfigSchema());
  });

  it('declares the plugin as the entry does, every tool, startup activation and a category', () => {
    expect(manifest).toMatchObject({
      id: PLUGIN_ID,
      name: PLUGIN_NAME,
      description: PLUGIN_DESCRIPTION,
      contracts: { tools: [...toolNames] },
      activation: { onStartup: true },
      categories: ['developer-tools'],
    });
    expect(PLUGIN_ID).toBe('claude-code');
  });

  it("accepts the seed README's config block verbatim and refuses unknown keys", () => {
    // The example block plus the seed's other documented keys at their defaults.
    const seed = {
      ...SEED_EXAMPLE_CONFIG,
      apparmorProfile: '',
      maxOutputSize: 10485760,
      notifyWebhookUrl: 'http://localhost:18789/hooks/agent',
      hooksToken: '',
    };
    expect(() => parseConfig(seed)).not.toThrow();
    const schema = manifest.configSchema as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    for (const key of Object.keys(seed)) expect(schema.properties).toHaveProperty(key);
    expect(schema.additionalProperties).toBe(false);
  });

  it('package.json points OpenClaw at the built entry and keeps openclaw an optional peer', () => {
    expect(pkg.openclaw).toEqual({ extensions: ['./dist/plugin/index.js'] });
    expect(pkg.peerDependencies?.openclaw).toBeTruthy();
    expect(pkg.peerDependenciesMeta?.openclaw).toEqual({ optional: true });
    expect(pkg.dependencies).not.toHaveProperty('openclaw');
    expect(pkg.devDependencies ?? {}).not.toHaveProperty('openclaw');
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'openclaw.plugin.json']));
  });

  it('only the plugin entry imports the OpenClaw SDK', async () => {
    const { execFileSync } = await import('node:child_process');
    const hits = execFileSync('grep', ['-rlE', "from 'openclaw", join(root, 'src')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((p) => p.slice(root.length + 1));
    expect(hits).toEqual(['src/plugin/index.ts']);
  });
});
