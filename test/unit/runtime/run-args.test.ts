import { describe, expect, it } from 'vitest';
import { containerSpec } from '../../fixtures/container-spec.js';
import { buildRunArgs } from '../../../src/runtime/run-args.js';
import { containerUserNamespace } from '../../../src/runtime/user-namespace.js';

const spec = containerSpec();

describe('containerUserNamespace', () => {
  it('maps the host user to the container user on rootless podman only', () => {
    const podman = { kind: 'podman' as const, command: 'podman', globalArgs: [] };
    expect(containerUserNamespace({ ...podman, rootless: true }, '1000:1000')).toBe(
      'keep-id:uid=1000,gid=1000',
    );
    expect(containerUserNamespace(podman, '1000:1000')).toBeUndefined();
    expect(
      containerUserNamespace({ ...podman, kind: 'docker', rootless: true }, '1000:1000'),
    ).toBeUndefined();
    expect(containerUserNamespace({ ...podman, rootless: true }, 'agent')).toBeUndefined();
  });
});

describe('buildRunArgs', () => {
  it('never pulls, and passes the user namespace when the spec has one', () => {
    const plain = buildRunArgs('docker', spec);
    expect(plain).toContain('--pull=never');
    expect(plain.some((a) => a.startsWith('--userns'))).toBe(false);
    const args = buildRunArgs('podman', { ...spec, userns: 'keep-id:uid=1000,gid=1000' });
    expect(args).toContain('--userns=keep-id:uid=1000,gid=1000');
    expect(args.indexOf('--userns=keep-id:uid=1000,gid=1000')).toBeLessThan(args.indexOf('img'));
  });
});
