import { randomBytes } from 'node:crypto';
import { engineChecks } from './engine-checks.js';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { openContainerCgroup } from '../runtime/cgroup-stats.js';
import { CliEngine } from '../runtime/cli-engine.js';
import { detectRuntime, type DetectedRuntime } from '../runtime/detect.js';
import type { ContainerEngine } from '../runtime/engine.js';
import { LABEL_MANAGED } from '../runtime/labels.js';
import { LIMITS_FIX, unenforcedLimits, whyUnenforced } from '../runtime/limit-support.js';
import { toRuntimeSpec } from '../runtime/runtime-info.js';
import type { ResolvedConfig } from '../shared/config.js';
import { isClaudePodError } from '../shared/errors.js';
import { packageVersion } from '../shared/version.js';
import { clientOf, currentContextHashes } from '../setup/agent-image.js';
import { imageContextHash } from '../setup/image-label.js';
import { toReport, type Check, type DoctorReport } from './checks.js';
import { diskChecks } from './disk-checks.js';
import { jobLikeSpec } from './job-like-spec.js';
import { apparmorCheck, authCheck, writableDirCheck } from './host-checks.js';
import {
  cpuVerdict,
  memoryVerdict,
  parseProbeOutput,
  pidsVerdict,
  PROBE_SCRIPT,
  type LimitVerdict,
} from './limits.js';

const SETUP_FIX = 'run `claude-pod setup`';

function runtimeChecks(rt: DetectedRuntime): Check[] {
  const checks: Check[] = [
    {
      id: 'runtime',
      label: 'container runtime',
      status: 'ok',
      value: `${rt.kind} ${rt.version} (${rt.command})`,
    },
  ];
  for (const note of rt.notes)
    checks.push({ id: 'runtime-note', label: 'runtime note', status: 'warn', value: note });
  if (rt.kind === 'podman') {
    const how = rt.ociProbed
      ? 'probed, cached'
      : rt.ociRuntime
        ? 'configured'
        : 'runtime default, not probed';
    checks.push({
      id: 'oci-runtime',
      label: 'OCI runtime',
      status: rt.ociRuntime || rt.ociProbed ? 'ok' : 'warn',
      value: `${rt.ociRuntime ?? 'default'} (${how})`,
      ...(rt.ociRuntime ? {} : { fix: SETUP_FIX }),
    });
  }
  checks.push(
    { id: 'rootless', label: 'mode', status: 'info', value: rt.rootless ? 'rootless' : 'rootful' },
    {
      id: 'cgroups',
      label: 'cgroups',
      status: rt.cgroupVersion === 'unknown' ? 'warn' : 'info',
      value: rt.cgroupVersion,
    },
    {
      id: 'log-driver',
      label: 'log driver',
      status: 'info',
      value:
        rt.kind === 'podman'
          ? `${rt.logDriver ?? 'unknown'} (jobs use k8s-file)`
          : `${rt.logDriver ?? 'unknown'}`,
    },
  );
  checks.push(limitsCheck(rt));
  return checks;
}

/**
 * What the engine says it cannot limit, before anything runs (the probe below measures it). The
 * same facts decide `requireLimits`: where this check warns, such a config refuses every job.
 */
function limitsCheck(rt: DetectedRuntime): Check {
  const missing = unenforcedLimits(rt);
  if (missing.length === 0) {
    return {
      id: 'limits',
      label: 'resource limits',
      status: 'ok',
      value: 'memory, CPU and PID limits supported',
    };
  }
  return {
    id: 'limits',
    label: 'resource limits',
    status: 'warn',
    value:
      `NOT enforced here: ${missing.join(', ')} (${whyUnenforced(rt)}); a job runs without them, ` +
      'or is refused with LIMITS_NOT_ENFORCED when "requireLimits" is true',
    fix: LIMITS_FIX,
  };
}

async function imageChecks(
  rt: DetectedRuntime,
  config: ResolvedConfig,
): Promise<{ checks: Check[]; present: boolean }> {
  const found = await imageContextHash(clientOf(rt), config.image);
  const fix =
    rt.kind === 'docker'
      ? `${SETUP_FIX} with "runtime": "docker" (builds with podman, copies it in)`
      : SETUP_FIX;
  if (!found) {
    return {
      present: false,
      checks: [
        { id: 'image', label: 'agent image', status: 'fail', value: `${config.image} not found`, fix },
      ],
    };
  }
  const checks: Check[] = [
    { id: 'image', label: 'agent image', status: 'ok', value: `${config.image} (${found.id.slice(0, 12)})` },
  ];
  if (found.hash) {
    // The hash depends on the base the image was built from; either base counts as current.
    const current = (await currentContextHashes().catch(() => new Map<string, string>())).has(found.hash);
    checks.push(
      current
        ? {
            id: 'image-current',
            label: 'image up to date',
            status: 'ok',
            value: `yes (${found.hash.slice(0, 12)})`,
          }
        : {
            id: 'image-current',
            label: 'image up to date',
            status: 'warn',
            value: `no: container/ changed since it was built (${found.hash.slice(0, 12)})`,
            fix,
          },
    );
  }
  return { present: true, checks };
}

function limitCheck(
  id: string,
  label: string,
  verdict: LimitVerdict,
  expected: string,
  rt: DetectedRuntime,
): Check {
  if (verdict.enforced)
    return { id, label, status: 'ok', value: `enforced: ${verdict.measured} (configured ${expected})` };
  const why = unenforcedLimits(rt).length
    ? whyUnenforced(rt)
    : 'the container did not get the configured limit';
  return {
    id,
    label,
    status: 'warn',
    value: `NOT enforced: measured ${verdict.measured}, configured ${expected} — ${why}`,
    fix: LIMITS_FIX,
  };
}

/** Runs the agent image as a job's container (the job's own flags and entrypoint) and reads back what it got. */
async function probeContainer(rt: DetectedRuntime, config: ResolvedConfig): Promise<Check[]> {
  const name = `claude-pod-doctor-${randomBytes(4).toString('hex')}`;
  const engine = new CliEngine(toRuntimeSpec(rt));
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-doctor-'));
  let stdout = '';
  let stderr = '';
  let exitCode: number | null = null;
  let metrics: Promise<Check>;
  let written: { uid: number } | null = null;
  try {
    const spec = await jobLikeSpec({
      config,
      runtime: toRuntimeSpec(rt),
      name,
      command: ['sh', '-c', PROBE_SCRIPT],
      labels: { [LABEL_MANAGED]: 'true', 'io.claude-pod.doctor': 'true' },
      dir,
    });
    const stream = engine.run(spec);
    stream.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const timer = setTimeout(() => stream.detach(), 120_000);
    metrics = metricsCheck(rt, engine, name, stream.done);
    const end = await stream.done;
    clearTimeout(timer);
    exitCode = end.exitCode;
    stderr = end.spawnError ?? end.stderrTail;
    written = await stat(join(dir, 'workspace', '.claude-pod-probe')).catch(() => null);
  } finally {
    await engine.remove(name).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  if (exitCode !== 0) {
    const err = stderr.trim().split('\n').slice(-3).join(' | ');
    return [
      {
        id: 'probe',
        label: 'probe container',
        status: 'fail',
        value: `could not run the image with the job flags: ${err || `exit ${exitCode}`}`,
        fix: `${SETUP_FIX}; check \`ociRuntime\` in the config`,
      },
    ];
  }
  const out = parseProbeOutput(stdout);
  const warnings = stderr
    .split('\n')
    .filter((l) => /warn/i.test(l))
    .map((l) => l.trim());
  const node = out.node ?? '';
  const claude = out.claude ?? '';
  const checks: Check[] = [
    /^v22\./.test(node)
      ? { id: 'node', label: 'node in image', status: 'ok', value: node }
      : { id: 'node', label: 'node in image', status: 'fail', value: node || 'missing', fix: SETUP_FIX },
    /\d+\.\d+\.\d+/.test(claude)
      ? { id: 'claude', label: 'claude in image', status: 'ok', value: claude }
      : {
          id: 'claude',
          label: 'claude in image',
          status: 'fail',
          value: claude || 'missing',
          fix: `${SETUP_FIX} --rebuild`,
        },
    out.uid && out.uid !== '0'
      ? { id: 'user', label: 'job user', status: 'ok', value: `uid ${out.uid}` }
      : {
          id: 'user',
          label: 'job user',
          status: 'fail',
          value: `uid ${out.uid ?? '?'}`,
          fix: 'jobs must not run as root',
        },
    workspaceOwnerCheck(rt, written),
    limitCheck('memory-limit', 'memory limit', memoryVerdict(out.memory, config.memory), config.memory, rt),
    limitCheck('cpu-limit', 'CPU limit', cpuVerdict(out.cpu, config.cpus), `${config.cpus} CPU`, rt),
    limitCheck(
      'pids-limit',
      'PID limit',
      pidsVerdict(out.pids, config.pidsLimit),
      String(config.pidsLimit),
      rt,
    ),
  ];
  checks.push(await metrics);
  for (const w of warnings)
    checks.push({ id: 'probe-warning', label: 'runtime warning', status: 'warn', value: w });
  return checks;
}

/**
 * Who owns what a job writes to its workspace, seen on the host. Rootless podman maps the
 * container user to the user running claude-pod (`--userns=keep-id`), so workspaces stay theirs;
 * a rootful engine writes as uid 1000.
 */
function workspaceOwnerCheck(rt: DetectedRuntime, written: { uid: number } | null): Check {
  const label = 'workspace files';
  if (!written) {
    return {
      id: 'workspace-owner',
      label,
      status: 'warn',
      value: 'the probe could not write to its workspace',
      fix: 'check that the container user can write the mounted workspace',
    };
  }
  const me = process.getuid?.() ?? -1;
  if (rt.rootless) {
    return written.uid === me
      ? {
          id: 'workspace-owner',
          label,
          status: 'ok',
          value: `belong to you (${userInfo().username}, uid ${me})`,
        }
      : {
          id: 'workspace-owner',
          label,
          status: 'warn',
          value: `belong to uid ${written.uid} on the host, not to you (uid ${me})`,
          fix: 'podman 4.3+ is needed for --userns=keep-id:uid=…,gid=…',
        };
  }
  return {
    id: 'workspace-owner',
    label,
    status: 'info',
    value: `belong to uid ${written.uid} on the host (rootful)`,
  };
}

/**
 * Where job metrics will come from: the probe container's own cgroup files (nothing started per
 * sample), or the runtime's `stats` command, a process per sample per job (each start stalls the
 * host's threads briefly: see cgroup-stats.ts).
 */
async function metricsCheck(
  rt: DetectedRuntime,
  engine: ContainerEngine,
  name: string,
  run: Promise<unknown>,
): Promise<Check> {
  let ended = false;
  void run.finally(() => (ended = true));
  while (!ended) {
    const found = await openContainerCgroup(engine, name, Date.now()).catch(() => 'not-running' as const);
    if (found !== 'not-running') {
      const sample = found?.sample(Date.now());
      if (sample) {
        const mib = Math.round(sample.memoryBytes / 1024 / 1024);
        return {
          id: 'metrics',
          label: 'job metrics',
          status: 'ok',
          value: `cgroup files (probe: ${mib} MiB)`,
        };
      }
      return {
        id: 'metrics',
        label: 'job metrics',
        status: 'warn',
        value: `\`${rt.kind} stats\`: containers have no cgroup of their own here${rt.rootless ? ' (rootless)' : ''}, so every sample starts a process, which briefly stalls the host's threads`,
        fix: 'run rootful, or on cgroups v2; or raise metricsIntervalSeconds',
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { id: 'metrics', label: 'job metrics', status: 'warn', value: 'not checked: the probe ended first' };
}

export async function runDoctor(config: ResolvedConfig): Promise<DoctorReport> {
  const checks: Check[] = [
    {
      id: 'version',
      label: 'claude-pod',
      status: 'info',
      value: `${packageVersion()} (node ${process.version}, ${process.platform}-${process.arch})`,
    },
  ];
  let rt: DetectedRuntime | null = null;
  try {
    rt = await detectRuntime({ runtime: config.runtime, ociRuntime: config.ociRuntime });
    checks.push(...runtimeChecks(rt));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const [what, fix] = message.split(' Fix: ');
    checks.push({
      id: 'runtime',
      label: 'container runtime',
      status: 'fail',
      value: isClaudePodError(error) ? `${error.code}: ${what}` : String(what),
      fix: fix ?? SETUP_FIX,
    });
  }
  if (rt) {
    const image = await imageChecks(rt, config);
    checks.push(...image.checks);
    if (image.present) checks.push(...(await probeContainer(rt, config)));
    checks.push(...(await diskChecks(config, rt.rootless)));
  }
  checks.push(...(await engineChecks(config)));
  checks.push(await apparmorCheck(config));
  checks.push(await authCheck(config));
  checks.push(await writableDirCheck('sessionsDir', 'sessionsDir', config.sessionsDir));
  checks.push(await writableDirCheck('workspacesDir', 'workspacesDir', config.workspacesDir));
  return toReport(checks);
}
