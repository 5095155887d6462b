import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CgroupStats } from '../../../src/runtime/cgroup-stats.js';

const root = mkdtempSync(join(tmpdir(), 'claude-pod-cgroup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ID = 'ab'.repeat(32);
const PATH = `/libpod_parent/libpod-${ID}`;

function write(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

/** A /proc and /sys/fs/cgroup pair laid out as podman 4.3 + runc leave them (v1 or v2). */
function host(name: string, table: string) {
  const procRoot = join(root, name, 'proc');
  const cgroupRoot = join(root, name, 'cgroup');
  write(join(procRoot, '42', 'cgroup'), table);
  return { procRoot, cgroupRoot };
}

describe('CgroupStats', () => {
  it('reads cgroup v1 files: memory less inactive file cache, limit, CPU share, pids', () => {
    const opts = host('v1', `4:memory:${PATH}\n2:cpuacct:${PATH}\n8:pids:${PATH}\n0::${PATH}\n`);
    const mem = join(opts.cgroupRoot, 'memory', PATH);
    write(join(mem, 'memory.usage_in_bytes'), '10000000\n');
    write(join(mem, 'memory.limit_in_bytes'), '536870912\n');
    write(join(mem, 'memory.stat'), 'cache 5\ntotal_inactive_file 2000000\n');
    write(join(opts.cgroupRoot, 'cpuacct', PATH, 'cpuacct.usage'), '500000000\n'); // 0.5 s
    write(join(opts.cgroupRoot, 'pids', PATH, 'pids.current'), '7\n');
    const stats = CgroupStats.open(42, ID, 1_000, opts)!;
    expect(stats).not.toBeNull();
    // 0.5 s of CPU over the 1 s since the container started.
    expect(stats.sample(2_000)).toEqual({
      cpuPercent: 50,
      memoryBytes: 8_000_000,
      memoryLimitBytes: 536_870_912,
      pids: 7,
    });
    write(join(opts.cgroupRoot, 'cpuacct', PATH, 'cpuacct.usage'), '2500000000\n'); // +2 s in 4 s
    expect(stats.sample(6_000)!.cpuPercent).toBe(50);
    write(join(mem, 'memory.limit_in_bytes'), '9223372036854771712\n'); // v1's "no limit"
    expect(stats.sample(7_000)!.memoryLimitBytes).toBeNull();
    rmSync(mem, { recursive: true }); // the container ended
    expect(stats.sample(8_000)).toBeNull();
  });

  it('reads cgroup v2 files', () => {
    const opts = host('v2', `0::${PATH}\n`);
    const dir = join(opts.cgroupRoot, PATH);
    write(join(dir, 'memory.current'), '3000000\n');
    write(join(dir, 'memory.max'), 'max\n');
    write(join(dir, 'memory.stat'), 'anon 1\ninactive_file 1000000\n');
    write(join(dir, 'cpu.stat'), 'usage_usec 250000\nuser_usec 200000\n');
    write(join(dir, 'pids.current'), '3\n');
    expect(CgroupStats.open(42, ID, 0, opts)!.sample(1_000)).toEqual({
      cpuPercent: 25,
      memoryBytes: 2_000_000,
      memoryLimitBytes: null,
      pids: 3,
    });
  });

  it("refuses a cgroup that is not the container's own (rootless podman on cgroups v1)", () => {
    const opts = host(
      'rootless',
      `4:memory:/user.slice/user-1000.slice\n2:cpuacct:/user.slice\n0::/user.slice\n`,
    );
    expect(CgroupStats.open(42, ID, 0, opts)).toBeNull();
  });

  it('refuses missing processes, unreadable files and malformed ids', () => {
    const opts = host('missing', `4:memory:${PATH}\n2:cpuacct:${PATH}\n`);
    expect(CgroupStats.open(42, ID, 0, opts)).toBeNull(); // no stat files
    expect(CgroupStats.open(43, ID, 0, opts)).toBeNull(); // no such process
    expect(CgroupStats.open(42, '../../etc', 0, opts)).toBeNull();
    expect(CgroupStats.open(-1, ID, 0, opts)).toBeNull();
  });
});
