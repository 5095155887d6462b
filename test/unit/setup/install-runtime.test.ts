import { describe, expect, it } from 'vitest';
import { isDebianLike, RUNTIME_PACKAGES } from '../../../src/setup/install-runtime.js';

describe('isDebianLike', () => {
  it('accepts Debian, Ubuntu and their derivatives', () => {
    expect(isDebianLike('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')).toBe(true);
    expect(isDebianLike('ID=ubuntu\nID_LIKE=debian\n')).toBe(true);
    expect(isDebianLike('ID=linuxmint\nID_LIKE="ubuntu debian"\n')).toBe(true);
  });

  it('rejects other distributions', () => {
    expect(isDebianLike('ID=fedora\n')).toBe(false);
    expect(isDebianLike('ID="rhel"\nID_LIKE="fedora"\n')).toBe(false);
    expect(isDebianLike('')).toBe(false);
  });
});

describe('RUNTIME_PACKAGES', () => {
  it('installs podman with an OCI runtime that works on cgroups v1 and what rootless and the base image need', () => {
    expect(RUNTIME_PACKAGES).toEqual(
      expect.arrayContaining([
        'podman',
        'runc',
        'uidmap',
        'slirp4netns',
        'fuse-overlayfs',
        'debootstrap',
        'catatonit',
      ]),
    );
  });
});
