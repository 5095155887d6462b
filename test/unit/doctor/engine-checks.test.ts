import { describe, expect, it } from 'vitest';
import { engineChecks } from '../../../src/doctor/engine-checks.js';
import type { ContainerEngine } from '../../../src/runtime/engine.js';
import { RuntimeCallError } from '../../../src/runtime/engine.js';
import { parseConfig } from '../../../src/shared/config.js';
import type { EngineConfig } from '../../../src/shared/engine-config.js';

function fake(opts: { answers: boolean; image: boolean }): ContainerEngine {
  return {
    list: async () => {
      if (!opts.answers) throw new RuntimeCallError('ps', 'unable to connect to Podman socket');
      return [{ name: 'claude-pod-job-x', id: '1', status: 'running', labels: {} }];
    },
    imageExists: async () => opts.image,
  } as unknown as ContainerEngine;
}

describe('doctor: each configured engine', () => {
  it('ok when it answers and has the image; fail (with a fix) when it has no image or gives no answer; local entries skipped', async () => {
    const config = parseConfig({
      engines: [
        { name: 'local', kind: 'podman' },
        { name: 'east', kind: 'podman', url: 'unix:///run/east.sock' },
        { name: 'west', kind: 'docker', host: 'ssh://ops@west' },
        { name: 'gone', kind: 'podman', url: 'unix:///run/gone.sock' },
        { name: 'k8s', kind: 'kubernetes' },
      ],
    });
    const engines: Record<string, ContainerEngine> = {
      east: fake({ answers: true, image: true }),
      west: fake({ answers: true, image: false }),
      gone: fake({ answers: false, image: true }),
      k8s: fake({ answers: true, image: false }),
    };
    const checks = await engineChecks(config, async (e: EngineConfig) => engines[e.name]!);
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['engine-east', 'ok'],
      ['engine-west', 'fail'],
      ['engine-gone', 'fail'],
      ['engine-k8s', 'ok'],
    ]);
    expect(checks[0]!.value).toBe('podman unix:///run/east.sock: answers; 1 claude-pod container(s)');
    expect(checks[1]!.value).toContain('has no image');
    expect(checks[1]!.fix).toBeTruthy();
    expect(checks[2]!.value).toContain('no answer: container runtime: `ps` failed: unable to connect');
  });

  it('no engines key: no engine checks', async () => {
    expect(await engineChecks(parseConfig({}))).toEqual([]);
  });
});
