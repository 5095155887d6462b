import { describe, expect, it } from 'vitest';
import {
  cpuVerdict,
  memoryVerdict,
  parseMemorySize,
  parseProbeOutput,
  pidsVerdict,
} from '../../../src/doctor/limits.js';

describe('parseMemorySize', () => {
  it('reads sizes the way --memory does', () => {
    expect(parseMemorySize('512m')).toBe(536_870_912);
    expect(parseMemorySize('2g')).toBe(2 * 1024 ** 3);
    expect(parseMemorySize('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseMemorySize('4096')).toBe(4096);
    expect(parseMemorySize('lots')).toBeNaN();
  });
});

describe('limit verdicts', () => {
  it('memory: enforced when the cgroup holds the configured value (v1 and v2)', () => {
    expect(memoryVerdict('536870912', '512m')).toEqual({ enforced: true, measured: '512 MiB' });
    expect(memoryVerdict('268435456', '512m').enforced).toBe(false);
  });

  it('memory: reports "no limit" for v2 max and v1 huge values (rootless cgroups v1)', () => {
    expect(memoryVerdict('max', '512m').enforced).toBe(false);
    expect(memoryVerdict('9223372036854771712', '512m')).toMatchObject({ enforced: false });
    expect(memoryVerdict(undefined, '512m').measured).toBe('not readable');
  });

  it('cpu: quota / period against the configured CPUs', () => {
    expect(cpuVerdict('100000 100000', '1.0')).toEqual({ enforced: true, measured: '1 CPU' });
    expect(cpuVerdict('150000 100000', '1.5').enforced).toBe(true);
    expect(cpuVerdict('-1 100000', '1.0')).toEqual({ enforced: false, measured: 'no quota' });
    expect(cpuVerdict('max 100000', '1.0').enforced).toBe(false);
    expect(cpuVerdict('', '1.0').measured).toBe('not readable');
  });

  it('pids: the configured number, not max', () => {
    expect(pidsVerdict('512', 512).enforced).toBe(true);
    expect(pidsVerdict('max', 512).enforced).toBe(false);
  });
});

describe('parseProbeOutput', () => {
  it('splits key=value lines, keeping = inside values', () => {
    expect(parseProbeOutput('cgroup=v1\nclaude=2.1.331 (Claude Code)\nx=a=b\njunk\n')).toEqual({
      cgroup: 'v1',
      claude: '2.1.331 (Claude Code)',
      x: 'a=b',
    });
  });
});
