import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/shared/config.js';
import { emptyClaudeReport } from '../../../src/shared/protocol.js';
import { parseSize } from '../../../src/shared/sizes.js';
import { buildJobSpec, containerLogCap, SHM_SIZE, VAR_TMP_SIZE } from '../../../src/supervisor/job-spec.js';
import type { JobRecord } from '../../../src/supervisor/records.js';

const MiB = 1024 * 1024;

const job = (): JobRecord => ({
  jobId: 'job-abc-0001',
  sessionId: 'sess-1',
  prompt: 'hi',
  phase: 'queued' as JobRecord['phase'],
  status: 'pending',
  cancelRequested: false,
  resumeClaudeSessionId: null,
  createdAt: 0,
  launchedAt: null,
  startedAt: null,
  endedAt: null,
  exitCode: null,
  error: null,
  progress: {
    outputSize: 0,
    tailOutput: '',
    firstOutputAt: null,
    lastOutputAt: null,
    lines: 0,
    events: 0,
    truncated: false,
    activityState: 'idle',
    metrics: null,
    claude: emptyClaudeReport(),
  },
  notified: false,
});

const build = (input: Record<string, unknown> = {}, mode: 'run' | 'attach' = 'run') =>
  buildJobSpec({
    config: parseConfig(input),
    runtime: { kind: 'podman', command: 'podman', globalArgs: [] },
    ownerId: 'owner',
    job: job(),
    containerName: 'claude-pod-job-abc',
    outputPath: '/s/out.jsonl',
    workspaceDir: '/w/sess-1',
    claudeDir: '/s/sessions/sess-1/claude',
    mode,
    api: { socketDir: '/s/.proxy', token: 't', kind: 'api-key' },
    runtimeDir: '/s/runtime',
  });

describe('job spec: the disk layer', () => {
  it('caps the container log so that a replay holds all output within maxOutputSize', () => {
    // 45-byte k8s-file header per line: twice the output covers lines down to 45 bytes, plus stderr.
    expect(containerLogCap(10 * MiB)).toBe(36 * MiB);
    expect(containerLogCap(MiB)).toBe(18 * MiB);
    expect(containerLogCap(0)).toBe(1024 * MiB);
    expect(build().container?.logMaxSize).toBe('36m');
    expect(build({ maxOutputSize: 0 }).container?.logMaxSize).toBe('1g');
    expect(build({ maxOutputSize: 1000 }).container?.logMaxSize).toBe('16386k');
  });

  it('runs a read-only image; /tmp, /var/tmp, the home and /dev/shm are sized tmpfs, together well below memory', () => {
    const c = build().container!;
    expect(c.readOnlyRootfs).toBe(true);
    expect(c.tmpfsMounts).toEqual([
      { target: '/var/tmp', size: VAR_TMP_SIZE },
      { target: '/home/agent', size: '96m', owned: true },
    ]);
    expect(c.shmSize).toBe(SHM_SIZE);
    const total = [c.tmpfsSize, ...c.tmpfsMounts!.map((t) => t.size), c.shmSize!].map(parseSize);
    expect(total.reduce((a, b) => a + b, 0)).toBeLessThan(parseSize(c.memory) - 150 * MiB);
    expect(build({ tmpfsSize: '1g', homeSize: '200m' }).container).toMatchObject({
      tmpfsSize: '1g',
      tmpfsMounts: [{ target: '/var/tmp' }, { target: '/home/agent', size: '200m' }],
    });
  });

  it('watches the workspace and the Claude state for a full disk, when running and when re-attaching', () => {
    expect(build().diskPaths).toEqual(['/w/sess-1', '/s/sessions/sess-1/claude']);
    expect(build({}, 'attach').diskPaths).toEqual(['/w/sess-1', '/s/sessions/sess-1/claude']);
  });
});
