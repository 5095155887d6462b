/**
 * The supervisor's start overhead with the real runtime and image: `start()` → the first
 * stream-json byte reaching the job's worker, against a bare `podman run` of the very same argv
 * (same image, hardening flags, mounts, entrypoint and `claude -p … --output-format stream-json
 * --verbose` command, same mock Messages API behind the same host proxy) → its first stdout
 * byte. Both runs start Claude Code for real, so both include its ~1 s boot; the difference of
 * the medians is what the supervisor adds (validation, session directories, the registry write,
 * the proxy token, handing the job to a worker thread). Runs alternate, after one warm-up each.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createMockApi, formatDirective } from '../../src/mock-api/index.js';
import { toRuntimeSpec } from '../../src/runtime/runtime-info.js';
import { DEFAULT_IMAGE } from '../../src/shared/config.js';
import { buildRunArgs } from '../../src/runtime/run-args.js';
import { clientEnv } from '../../src/runtime/cli-engine.js';
import { buildJobSpec } from '../../src/supervisor/job-spec.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import type { Impl } from '../impl.js';
import { releaseDisksUnder } from '../../test/fixtures/disks.js';
import { waitForEnd } from '../fake-stack.js';
import { median, round } from '../stats.js';

export interface StartOverheadResult {
  available: true;
  image: string;
  runs: number;
  /** start() → first stream-json byte at the worker (ms). */
  supervisorFirstByteMs: number[];
  /** spawn of the same `podman run` → its first stdout byte (ms). */
  bareFirstByteMs: number[];
  medians: { supervisorFirstByteMs: number; bareFirstByteMs: number };
  /** median(supervisor) − median(bare). */
  overheadMs: number;
}

export type StartOverheadOutcome = StartOverheadResult | { available: false; reason: string };

const API_KEY = 'sk-bench-key-held-by-the-host';

export async function runStartOverhead(impl: Impl, opts: { runs: number }): Promise<StartOverheadOutcome> {
  const probe = await execa('podman', ['image', 'exists', DEFAULT_IMAGE], { reject: false });
  if (probe.exitCode !== 0) {
    return {
      available: false,
      reason: `podman or the image ${DEFAULT_IMAGE} is missing (run \`claude-pod setup\`)`,
    };
  }
  const mock = await createMockApi({ host: '127.0.0.1', port: 0 });
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-bench-real-'));
  const env = { ANTHROPIC_API_KEY: API_KEY };
  const sessionsDir = join(dir, 'sessions');
  const gate = new impl.ProxyGate({
    sessionsDir,
    upstream: mock.url!,
    credentialsPath: join(dir, 'no-credentials.json'),
    env,
  });
  const sup = await impl.createSupervisor(
    {
      sessionsDir,
      workspacesDir: join(dir, 'workspaces'),
      apiBaseUrl: mock.url!,
      startupTimeout: 90,
      idleTimeout: 90,
      sessionIdleTimeout: 0,
    },
    { apiGate: gate, env },
  );
  try {
    const supFirstByte: number[] = [];
    const bare: number[] = [];
    // One warm-up each: the first job starts the proxy daemon and the worker thread.
    const warm = await supervisorRun(sup);
    await bareRun(sup, gate, warm.jobId, 0);
    for (let i = 0; i < opts.runs; i++) {
      const supFirst = i % 2 === 0;
      if (!supFirst) bare.push(await bareRun(sup, gate, warm.jobId, i + 1));
      const r = await supervisorRun(sup);
      supFirstByte.push(r.firstByteMs);
      if (supFirst) bare.push(await bareRun(sup, gate, warm.jobId, i + 1));
    }
    const medians = {
      supervisorFirstByteMs: round(median(supFirstByte), 0),
      bareFirstByteMs: round(median(bare), 0),
    };
    return {
      available: true,
      image: DEFAULT_IMAGE,
      runs: opts.runs,
      supervisorFirstByteMs: supFirstByte,
      bareFirstByteMs: bare,
      medians,
      overheadMs: medians.supervisorFirstByteMs - medians.bareFirstByteMs,
    };
  } finally {
    await sup.close({ cancelRunning: true });
    await mock.close();
    // The sessions' disks (loop-mounted ext4 images) outlive the supervisor: without this the
    // removal failed with EBUSY and the run left two mounts and two loop devices behind.
    await releaseDisksUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function supervisorRun(sup: Supervisor): Promise<{ jobId: string; firstByteMs: number }> {
  const t0 = Date.now();
  const { jobId } = await sup.start({ prompt: `bench start overhead ${formatDirective('echo')}` });
  const final = await waitForEnd(sup, jobId);
  if (final.status !== 'completed')
    throw new Error(`start-overhead job ${jobId} ${final.status}: ${final.error}`);
  // The worker's own clock reading when the first chunk arrived (status() rounds to 0.1 s).
  const firstOutputAt = sup.job(jobId)!.progress.firstOutputAt;
  if (firstOutputAt === null) throw new Error(`start-overhead job ${jobId}: no output`);
  return { jobId, firstByteMs: firstOutputAt - t0 };
}

/** The argv the supervisor ran for `likeJobId`, under a new container name and token. */
async function bareRun(
  sup: Supervisor,
  gate: InstanceType<Impl['ProxyGate']>,
  likeJobId: string,
  i: number,
): Promise<number> {
  const like = sup.job(likeJobId)!;
  const jobId = `${likeJobId}-bare-${i}`;
  const containerName = `claude-pod-bench-bare-${process.pid}-${i}`;
  const access = await gate.grant(jobId);
  const rt = toRuntimeSpec(sup.runtime);
  const spec = buildJobSpec({
    config: sup.config,
    runtime: rt,
    ownerId: `${sup.ownerId}-bench-bare`,
    job: { ...like, jobId, resumeClaudeSessionId: null },
    containerName,
    outputPath: sup.paths.outputFile(like.sessionId, likeJobId),
    workspaceDir: sup.paths.workspace(like.sessionId),
    claudeDir: sup.paths.claudeDir(like.sessionId),
    api: access,
    mode: 'run',
    runtimeDir: sup.runtimeDir,
  });
  try {
    const t0 = Date.now();
    const child = spawn(
      rt.command,
      [...rt.globalArgs, ...buildRunArgs(rt.kind === 'docker' ? 'docker' : 'podman', spec.container!)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: clientEnv(rt, spec.container!.secretEnv),
      },
    );
    child.stdin.end(spec.container!.stdin ?? '');
    let first: number | null = null;
    let stderr = '';
    child.stdout.on('data', () => (first ??= Date.now()));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (first === null) throw new Error(`bare podman run printed nothing (exit ${code}): ${stderr}`);
    return first - t0;
  } finally {
    await execa(rt.command, [...rt.globalArgs, 'rm', '-f', '-t', '0', containerName], { reject: false });
    await gate.revoke(jobId);
  }
}
