import { describe, expect, it } from 'vitest';
import { missingDiskPackages } from '../../../src/setup/disk-tools.js';

describe('disk tools', () => {
  it('names each missing package once', async () => {
    expect(await missingDiskPackages(async (t) => `/usr/sbin/${t}`)).toEqual([]);
    expect(await missingDiskPackages(async (t) => (t === 'mkfs.ext4' ? null : `/usr/bin/${t}`))).toEqual([
      'e2fsprogs',
    ]);
    expect(await missingDiskPackages(async () => null)).toEqual(['e2fsprogs', 'mount']);
  });
});
