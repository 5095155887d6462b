import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../../src/doctor/doctor.js';
import { jobLikeSpec } from '../../../src/doctor/job-like-spec.js';
import { parseMemorySize } from '../../../src/doctor/limits.js';
import { LABEL_MANAGED } from '../../../src/runtime/labels.js';
import { unenforcedLimits } from '../../../src/runtime/limit-support.js';
import { parseConfig } from '../../../src/shared/config.js';
import { parseSize } from '../../../src/shared/sizes.js';
import { SHM_SIZE, VAR_TMP_SIZE } from '../../../src/supervisor/job-spec.js';
import { releaseDisksUnder } from '../../fixtures/disks.js';
import { HARDENING_SCRIPT, parseFacts } from '../../fixtures/hardening-script.js';
import {
  mustHave,
  reapByLabel,
  requireRuntime,
  skipNote,
  TEST_RUN_LABEL,
  testRunId,
  testRuntimeConfig,
} from '../helpers/runtime.js';

const env = await requireRuntime();

const MEMORY = '384m';
const PIDS = 200;

// Everything is read from inside one container started as a job's (the job's own containerSpec,
// entrypoint included; only the command differs); one line per fact.
const SCRIPT = HARDENING_SCRIPT;

describe.skipIf(!env.available)(`hardened agent container${skipNote(env)}`, () => {
  const rt = mustHave.bind(null, env);
  const facts: Record<string, string> = {};
  const label = `${TEST_RUN_LABEL}=${testRunId}`;
  let dir: string;

  beforeAll(async () => {
    const { engine, spec, image } = rt();
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-hardening-'));
    const config = parseConfig({ ...testRuntimeConfig(), image, memory: MEMORY, pidsLimit: PIDS });
    const container = await jobLikeSpec({
      config,
      runtime: spec,
      name: `claude-pod-test-hardening-${testRunId}`,
      command: ['sh', '-c', SCRIPT],
      labels: { [LABEL_MANAGED]: 'true', [TEST_RUN_LABEL]: testRunId },
      dir,
    });
    const stream = engine.run(container);
    let out = '';
    stream.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const end = await stream.done;
    expect(end.exitCode, end.stderrTail).toBe(0);
    Object.assign(facts, parseFacts(out));
  });

  afterAll(async () => {
    if (env.available) await reapByLabel(env.engine, label);
    if (dir) await releaseDisksUnder(dir);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has no effective capabilities and no_new_privs set', () => {
    expect(facts.capeff).toBe('0000000000000000');
    expect(facts.nonewprivs).toBe('1');
  });

  it('enforces the configured memory and PID limits — or, where the engine ignores them, says so', () => {
    if (rt().facts.limits) {
      expect(Number(facts.memory)).toBe(parseMemorySize(MEMORY));
      expect(Number(facts.pids)).toBe(PIDS);
      expect(unenforcedLimits(rt().runtime)).toEqual([]);
    } else {
      // Rootless on cgroups v1: the container sits in no cgroup of its own, so no limit applies;
      // this is what doctor reports and what `requireLimits` refuses.
      expect(facts.memory === 'max' || Number(facts.memory) >= 2 ** 62).toBe(true);
      expect(['max', '']).toContain(facts.pids);
      expect(unenforcedLimits(rt().runtime)).toEqual(['memory', 'CPU', 'PID']);
    }
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
    // The home directory is the job user's, writable, with what the image has there.
    expect(facts.home_owner).toBe('1000');
    expect(facts.home_copied).toBe('yes');
    expect(facts.home_writable).toBe('yes');
  });

  it('has only the loopback interface', () => {
    expect((facts.ifaces ?? '').split(',').filter(Boolean)).toEqual(['lo']);
  });

  it('runs as a non-root user; rootless, that user is the host user (keep-id)', () => {
    expect(facts.uid).toBe('1000');
    const maps = (facts.uidmap ?? '').split(',').filter(Boolean);
    // Rootless, the map is relative to podman's own user namespace, where the host user is 0:
    // container uid 1000 is the host user (jobs.test.ts checks the owner of written files).
    if (rt().runtime.rootless) expect(maps).toContain('1000:0:1');
    else expect(maps).toEqual(['0:0:4294967295']);
  });

  it('ships Node 22 and a working claude CLI', () => {
    expect(facts.node).toMatch(/^v22\./);
    expect(facts.claude_exit).toBe('0');
    expect(facts.claude).toMatch(/^\d+\.\d+\.\d+ \(Claude Code\)$/);
  });

  it('leaves nothing behind once reaped by label', async () => {
    expect(await reapByLabel(rt().engine, label)).toBe(1);
    expect(await reapByLabel(rt().engine, label)).toBe(0);
  });

  it('doctor: the probe runs as a job does, and reports limits, metrics and workspace owner truthfully', async () => {
    const report = await runDoctor(parseConfig({ ...testRuntimeConfig(), image: rt().image }));
    const check = (id: string) => report.checks.find((c) => c.id === id);
    expect(report.ok, JSON.stringify(report.checks)).toBe(true);
    // Rootful as root: workspaces are size-limited, measured with a real image written past its end.
    if (!rt().runtime.rootless && process.getuid?.() === 0) {
      expect(check('disk-quota')).toMatchObject({
        status: 'ok',
        value: expect.stringMatching(/^enforced: .*ENOSPC/),
      });
    }
    expect(check('tmpfs')?.status).toBe('ok');
    expect(check('runtime')?.value).toContain(rt().runtime.kind);
    if (rt().facts.limits) {
      expect(check('limits')?.status).toBe('ok');
      expect(check('memory-limit')?.status).toBe('ok');
      expect(check('pids-limit')?.status).toBe('ok');
    } else {
      expect(check('limits')).toMatchObject({
        status: 'warn',
        value: expect.stringContaining('memory, CPU, PID'),
      });
      for (const id of ['memory-limit', 'cpu-limit', 'pids-limit']) expect(check(id)?.status).toBe('warn');
    }
    // With a cgroup of its own, metrics are read from its files, no process per sample.
    if (rt().facts.cgroupMetrics) {
      expect(check('metrics')).toMatchObject({ status: 'ok', value: expect.stringMatching(/^cgroup files/) });
    } else {
      expect(check('metrics')?.status).toBe('warn');
    }
    expect(check('workspace-owner')?.status).toBe(rt().runtime.rootless ? 'ok' : 'info');
  });
});
