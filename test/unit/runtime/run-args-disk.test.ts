import { describe, expect, it } from 'vitest';
import { buildRunArgs } from '../../../src/runtime/run-args.js';
import type { ContainerSpec } from '../../../src/shared/protocol.js';
import { containerSpec } from '../../fixtures/container-spec.js';

const spec = (over: Partial<ContainerSpec> = {}) =>
  containerSpec({ pidsLimit: 64, tmpfsSize: '128m', ...over });

/** The value after each occurrence of `flag`. */
const values = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('buildRunArgs: the disk layer', () => {
  const layered = spec({
    readOnlyRootfs: true,
    tmpfsMounts: [
      { target: '/var/tmp', size: '32m' },
      { target: '/home/agent', size: '96m', owned: true },
    ],
    shmSize: '64m',
    logMaxSize: '18m',
  });

  it('podman: a read-only image with no unsized tmpfs of its own, sized tmpfs mounts, a capped log', () => {
    const args = buildRunArgs('podman', layered);
    expect(args).toContain('--read-only');
    expect(args).toContain('--read-only-tmpfs=false');
    expect(values(args, '--tmpfs')).toEqual([
      '/tmp:rw,nosuid,size=128m',
      '/var/tmp:rw,nosuid,nodev,size=32m',
      // U: the user's, with the image's home copied in.
      '/home/agent:rw,nosuid,nodev,size=96m,U',
    ]);
    expect(values(args, '--shm-size')).toEqual(['64m']);
    expect(values(args, '--log-opt')).toEqual(['max-size=18m']);
    // All of it before the image: everything after the image is the command.
    expect(args.indexOf('--read-only')).toBeLessThan(args.indexOf('img'));
  });

  it('docker: the same, with the owner as uid/gid (docker has no U) and no podman-only flag', () => {
    const args = buildRunArgs('docker', layered);
    expect(args).toContain('--read-only');
    expect(args).not.toContain('--read-only-tmpfs=false');
    expect(values(args, '--tmpfs')).toContain('/home/agent:rw,nosuid,nodev,size=96m,uid=1000,gid=1000');
  });

  it('adds nothing when the spec asks for nothing (older specs, other callers)', () => {
    const args = buildRunArgs('podman', spec());
    expect(args).not.toContain('--read-only');
    expect(args).not.toContain('--shm-size');
    expect(values(args, '--tmpfs')).toEqual(['/tmp:rw,nosuid,size=128m']);
    expect(values(args, '--log-opt')).toEqual([]);
  });
});
