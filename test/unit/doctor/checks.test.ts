import { describe, expect, it } from 'vitest';
import { formatReport, toReport, type Check } from '../../../src/doctor/checks.js';

const ok: Check = { id: 'runtime', label: 'container runtime', status: 'ok', value: 'podman 4.3.1' };
const fail: Check = {
  id: 'image',
  label: 'agent image',
  status: 'fail',
  value: 'missing',
  fix: 'run `claude-pod setup`',
};

describe('doctor report', () => {
  it('is ok unless a hard requirement fails; warnings do not fail it', () => {
    expect(toReport([ok, { ...ok, status: 'warn' }]).ok).toBe(true);
    expect(toReport([ok, fail]).ok).toBe(false);
  });

  it('renders an aligned table with fixes under failing rows', () => {
    const text = formatReport(toReport([ok, fail]));
    const lines = text.split('\n');
    expect(lines[0]).toBe('ok    container runtime  podman 4.3.1');
    expect(lines[1]).toBe('FAIL  agent image        missing');
    expect(lines[2]?.trim()).toBe('fix: run `claude-pod setup`');
    expect(lines.at(-1)).toBe('doctor: 1 hard requirement failed');
  });
});
