import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_MANAGED } from '../../src/runtime/labels.js';
import { buildRunArgs } from '../../src/runtime/run-args.js';
import { parseMemorySize } from '../../src/doctor/limits.js';
import { runDoctor } from '../../src/doctor/doctor.js';
import { parseConfig } from '../../src/shared/config.js';
import { parseSize } from '../../src/shared/sizes.js';
import { SHM_SIZE, VAR_TMP_SIZE, writableLayers } from '../../src/supervisor/job-spec.js';
import { reapByLabel, requireRuntime, skipNote, TEST_RUN_LABEL, testRunId } from './helpers/runtime.js';

const env = await requireRuntime();

const MEMORY = '384m';
const PIDS = 200;

// Everything is read from inside one container started with the job flags; one line per fact.
const SCRIPT = [
  'echo "capeff=$(grep ^CapEff /proc/self/status | cut -f2)"',
  'echo "nonewprivs=$(grep ^NoNewPrivs /proc/self/status | cut -f2)"',
  'if [ -f /sys/fs/cgroup/memory.max ]; then echo "memory=$(cat /sys/fs/cgroup/memory.max)"; ' +
    'else echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"; fi',
  'if [ -f /sys/fs/cgroup/pids.max ]; then echo "pids=$(cat /sys/fs/cgroup/pids.max)"; ' +
    'else echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"; fi',
  'echo "tmp=$(grep " /tmp " /proc/mounts)"',
  'echo "vartmp=$(grep " /var/tmp " /proc/mounts)"',
  'echo "home=$(grep " /home/agent " /proc/mounts)"',
  'echo "shm=$(grep " /dev/shm " /proc/mounts)"',
  'echo "home_owner=$(stat -c %u /home/agent)"',
  'echo "home_copied=$(test -f /home/agent/.bashrc && echo yes)"',
  'echo "home_writable=$(touch /home/agent/.probe 2>/dev/null && echo yes)"',
  'echo "rootfs_write=$(touch /usr/.probe /etc/.probe /run/lock/.probe /.probe 2>&1 | grep -c "Read-only file system")"',
  'echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ",")"',
  'echo "uid=$(id -u)"',
  'echo "node=$(node --version)"',
  'echo "claude=$(claude --version 2>&1 | head -n1)"',
  'echo "claude_exit=$?"',
].join('\n');

describe.skipIf(!env.available)(`hardened agent container${skipNote(env)}`, () => {
  const facts: Record<string, string> = {};
  const label = `${TEST_RUN_LABEL}=${testRunId}`;

  beforeAll(async () => {
    if (!env.available) return;
    const args = buildRunArgs(env.spec.kind, {
      name: `claude-pod-test-hardening-${testRunId}`,
      labels: { [LABEL_MANAGED]: 'true', [TEST_RUN_LABEL]: testRunId },
      image: env.image,
      memory: MEMORY,
      cpus: '1.0',
      pidsLimit: PIDS,
      ...writableLayers(parseConfig({})),
      network: 'none',
      apparmorProfile: '',
      user: '1000:1000',
      mounts: [],
      env: { IS_SANDBOX: '1', DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
      secretEnv: {},
      workdir: '/workspace',
      entrypoint: 'sh',
      command: ['-c', SCRIPT],
    });
    const r = await execa(env.spec.command, [...env.spec.globalArgs, ...args], {
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    for (const line of String(r.stdout).split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) facts[line.slice(0, i)] = line.slice(i + 1).trim();
    }
  });

  afterAll(async () => {
    if (env.available) await reapByLabel(env.spec, label);
  });

  it('has no effective capabilities and no_new_privs set', () => {
    expect(facts.capeff).toBe('0000000000000000');
    expect(facts.nonewprivs).toBe('1');
  });

  it('enforces the configured memory and PID limits', () => {
    expect(Number(facts.memory)).toBe(parseMemorySize(MEMORY));
    expect(Number(facts.pids)).toBe(PIDS);
  });

  it('mounts /tmp as a nosuid tmpfs', () => {
    const [, mountPoint, fsType, options = ''] = (facts.tmp ?? '').split(/\s+/);
    expect(mountPoint).toBe('/tmp');
    expect(fsType).toBe('tmpfs');
    expect(options.split(',')).toContain('nosuid');
  });

  it('has a read-only root filesystem: only sized tmpfs mounts are writable, all well below the memory limit', () => {
    // Four writes outside the mounts, four refusals: nothing lands in the writable layer on the host's disk.
    expect(facts.rootfs_write).toBe('4');
    const defaults = parseConfig({});
    const sizeOf = (line: string | undefined, target: string) => {
      const [, mountPoint, fsType, options = ''] = (line ?? '').split(/\s+/);
      expect(mountPoint).toBe(target);
      expect(fsType).toBe('tmpfs');
      expect(options.split(',')).toContain('nosuid');
      return Number(/size=(\d+)k/.exec(options)?.[1]) * 1024;
    };
    const sizes = [
      sizeOf(facts.tmp, '/tmp'),
      sizeOf(facts.vartmp, '/var/tmp'),
      sizeOf(facts.home, '/home/agent'),
      sizeOf(facts.shm, '/dev/shm'),
    ];
    // podman rounds some sizes (64m becomes 64000k): within 3% of what was configured.
    const configured = [defaults.tmpfsSize, VAR_TMP_SIZE, defaults.homeSize, SHM_SIZE].map(parseSize);
    sizes.forEach((size, i) => expect(Math.abs(size - configured[i]!) / configured[i]!).toBeLessThan(0.03));
    // Filling all of them leaves Claude Code (about 150 MiB) room under the default memory limit.
    expect(sizes.reduce((a, b) => a + b, 0) + 150 * 1024 * 1024).toBeLessThan(parseSize(defaults.memory));
    // The home directory is the user's, writable, with what the image has there.
    expect(facts.home_owner).toBe('1000');
    expect(facts.home_copied).toBe('yes');
    expect(facts.home_writable).toBe('yes');
  });

  it('has only the loopback interface', () => {
    expect((facts.ifaces ?? '').split(',').filter(Boolean)).toEqual(['lo']);
  });

  it('runs as a non-root user', () => {
    expect(facts.uid).toBe('1000');
  });

  it('ships Node 22 and a working claude CLI', () => {
    expect(facts.node).toMatch(/^v22\./);
    expect(facts.claude_exit).toBe('0');
    expect(facts.claude).toMatch(/^\d+\.\d+\.\d+ \(Claude Code\)$/);
  });

  it('leaves nothing behind once reaped by label', async () => {
    if (!env.available) return;
    expect(await reapByLabel(env.spec, label)).toBe(1);
    expect(await reapByLabel(env.spec, label)).toBe(0);
  });

  it('doctor: the probe runs with the job flags and job metrics come from its cgroup files', async () => {
    if (!env.available) return;
    const report = await runDoctor(parseConfig({ image: env.image }));
    const check = (id: string) => report.checks.find((c) => c.id === id);
    expect(check('memory-limit')?.status).toBe('ok');
    // Rootful as root: workspaces are size-limited, measured with a real image written past its end.
    if (!env.runtime.rootless && process.getuid?.() === 0) {
      expect(check('disk-quota')).toMatchObject({
        status: 'ok',
        value: expect.stringMatching(/^enforced: .*ENOSPC/),
      });
    }
    expect(check('tmpfs')?.status).toBe('ok');
    // Rootful: the container has a cgroup of its own, read without a process per sample.
    if (!env.runtime.rootless) {
      expect(check('metrics')).toMatchObject({ status: 'ok', value: expect.stringMatching(/^cgroup files/) });
    } else {
      expect(check('metrics')?.status).toMatch(/ok|warn/);
    }
  });
});
