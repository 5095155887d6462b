import { describe, expect, it } from 'vitest';
import { diskChecks } from '../../../src/doctor/disk-checks.js';
import { parseConfig } from '../../../src/shared/config.js';

const MiB = 1024 * 1024;
const enforced = { enforced: true as const };
const goodProbe = async () => ({ writtenBytes: 13 * MiB, enospc: true, ms: 40 });
const byId = async (...args: Parameters<typeof diskChecks>) =>
  Object.fromEntries((await diskChecks(...args)).map((c) => [c.id, c]));

describe('doctor: disk checks', () => {
  it('reports limits enforced when a probe image fills up with ENOSPC', async () => {
    const c = await byId(parseConfig({}), false, { support: enforced, probe: goodProbe });
    expect(c['disk-quota']).toMatchObject({ status: 'ok' });
    expect(c['disk-quota']!.value).toBe(
      'enforced: workspace 4g, Claude state 1g, loop-mounted ext4 images (probe: ENOSPC after 13.0 of 16 MiB, 40 ms)',
    );
  });

  it('says so where limits cannot be enforced: rootless, not root, or a probe that never fills', async () => {
    const rootless = await byId(parseConfig({}), true, { support: enforced, probe: goodProbe });
    expect(rootless['disk-quota']).toMatchObject({
      status: 'warn',
      value: expect.stringMatching(/^NOT enforced .*rootless/),
    });
    expect(rootless['disk-quota']!.value).toContain("only the host's free space is watched");
    const notRoot = await byId(parseConfig({}), false, {
      support: { enforced: false, why: 'not running as root' },
    });
    expect(notRoot['disk-quota']).toMatchObject({
      status: 'warn',
      value: expect.stringContaining('not running as root'),
    });
    const leaky = await byId(parseConfig({}), false, {
      support: enforced,
      probe: async () => ({ writtenBytes: 32 * MiB, enospc: false, ms: 5 }),
    });
    expect(leaky['disk-quota']).toMatchObject({
      status: 'warn',
      value: expect.stringMatching(/^NOT enforced/),
    });
    const off = await byId(parseConfig({ maxWorkspaceSize: '0', maxStateSize: '0' }), false, {
      support: enforced,
    });
    expect(off['disk-quota']).toMatchObject({ status: 'warn', value: expect.stringMatching(/^off/) });
  });

  it('warns when the tmpfs mounts could take the memory Claude Code needs', async () => {
    const fine = await byId(parseConfig({}), false, { support: enforced, probe: goodProbe });
    expect(fine.tmpfs).toMatchObject({ status: 'ok' });
    // The old default: /tmp as large as the memory limit.
    const old = await byId(parseConfig({ tmpfsSize: '512m' }), false, {
      support: enforced,
      probe: goodProbe,
    });
    expect(old.tmpfs).toMatchObject({ status: 'warn', value: expect.stringContaining('OOM-kill') });
  });

  it('tells the container log cap', async () => {
    const c = await byId(parseConfig({}), false, { support: enforced, probe: goodProbe });
    expect(c['container-log']!.value).toMatch(/^capped at 36m/);
  });
});
