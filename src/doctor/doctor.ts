import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { openContainerCgroup } from '../runtime/cgroup-stats.js';
import { detectRuntime, type DetectedRuntime } from '../runtime/detect.js';
import { toRuntimeSpec } from '../runtime/runtime-info.js';
import { LABEL_MANAGED } from '../runtime/labels.js';
import { buildRunArgs } from '../runtime/run-args.js';
import type { ResolvedConfig } from '../shared/config.js';
import { isClaudePodError } from '../shared/errors.js';
import { containerDir } from '../shared/paths.js';
import { packageVersion } from '../shared/version.js';
import { CONTEXT_HASH_LABEL, computeContextHash, readImageVersions } from '../setup/context-hash.js';
import { toReport, type Check, type DoctorReport } from './checks.js';
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
      value: `${rt.logDriver ?? 'unknown'} (jobs use k8s-file)`,
    },
  );
  return checks;
}

async function imageChecks(
  rt: DetectedRuntime,
  config: ResolvedConfig,
): Promise<{ checks: Check[]; present: boolean }> {
  const r = await execa(
    rt.command,
    [
      ...rt.globalArgs,
      'image',
      'inspect',
      '--format',
      `{{.Id}} {{index .Labels "${CONTEXT_HASH_LABEL}"}}`,
      config.image,
    ],
    { reject: false, stdin: 'ignore' },
  );
  if (r.exitCode !== 0) {
    return {
      present: false,
      checks: [
        {
          id: 'image',
          label: 'agent image',
          status: 'fail',
          value: `${config.image} not found`,
          fix: SETUP_FIX,
        },
      ],
    };
  }
  const [id = '', label = ''] = String(r.stdout).trim().split(/\s+/);
  const checks: Check[] = [
    { id: 'image', label: 'agent image', status: 'ok', value: `${config.image} (${id.slice(0, 12)})` },
  ];
  if (label && label !== '<no') {
    // The hash depends on the base the image was built from; either base counts as current.
    const versions = await readImageVersions(containerDir).catch(() => null);
    let current = false;
    if (versions) {
      for (const base of ['localhost/claude-pod-base:bookworm', 'docker.io/library/debian:bookworm-slim']) {
        if ((await computeContextHash(containerDir, versions, base)) === label) current = true;
      }
    }
    checks.push(
      current
        ? {
            id: 'image-current',
            label: 'image up to date',
            status: 'ok',
            value: `yes (${label.slice(0, 12)})`,
          }
        : {
            id: 'image-current',
            label: 'image up to date',
            status: 'warn',
            value: `no: container/ changed since it was built (${label.slice(0, 12)})`,
            fix: SETUP_FIX,
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
  const why =
    rt.rootless && rt.cgroupVersion === 'v1'
      ? 'rootless podman on cgroups v1 ignores resource limits'
      : 'the container did not get the configured limit';
  return {
    id,
    label,
    status: 'warn',
    value: `NOT enforced: measured ${verdict.measured}, configured ${expected} — ${why}`,
    fix: 'run rootful, or boot with cgroups v2 (systemd.unified_cgroup_hierarchy=1) with the controllers delegated',
  };
}

/** Runs the agent image with exactly the flags jobs get and reads back what it was given. */
async function probeContainer(rt: DetectedRuntime, config: ResolvedConfig): Promise<Check[]> {
  const name = `claude-pod-doctor-${randomBytes(4).toString('hex')}`;
  const args = buildRunArgs({
    kind: rt.kind,
    containerName: name,
    labels: { [LABEL_MANAGED]: 'true', 'io.claude-pod.doctor': 'true' },
    image: config.image,
    memory: config.memory,
    cpus: config.cpus,
    pidsLimit: config.pidsLimit,
    tmpfsSize: config.tmpfsSize,
    network: 'none',
    apparmorProfile: config.apparmorProfile,
    user: '1000:1000',
    mounts: [],
    env: { IS_SANDBOX: '1', DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    workdir: '/workspace',
    entrypoint: 'sh',
    command: ['-c', PROBE_SCRIPT],
  });
  args.splice(1, 0, '--rm');
  const run = execa(rt.command, [...rt.globalArgs, ...args], {
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  });
  const metrics = metricsCheck(rt, name, run);
  const r = await run;
  if (r.exitCode !== 0) {
    await execa(rt.command, [...rt.globalArgs, 'rm', '-f', name], { reject: false, stdin: 'ignore' });
    const err = String(r.stderr || r.shortMessage || '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    return [
      {
        id: 'probe',
        label: 'probe container',
        status: 'fail',
        value: `could not run the image with the job flags: ${err}`,
        fix: `${SETUP_FIX}; check \`ociRuntime\` in the config`,
      },
    ];
  }
  const out = parseProbeOutput(String(r.stdout));
  const warnings = String(r.stderr)
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
 * Where job metrics will come from: the probe container's own cgroup files (nothing started per
 * sample), or the runtime's `stats` command, a process per sample per job (each start stalls the
 * host's threads briefly: see cgroup-stats.ts).
 */
async function metricsCheck(rt: DetectedRuntime, name: string, run: Promise<unknown>): Promise<Check> {
  let ended = false;
  void run.finally(() => (ended = true));
  const spec = toRuntimeSpec(rt);
  while (!ended) {
    const found = await openContainerCgroup(spec, name, Date.now());
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
  }
  checks.push(await apparmorCheck(config));
  checks.push(await authCheck(config));
  checks.push(await writableDirCheck('sessionsDir', 'sessionsDir', config.sessionsDir));
  checks.push(await writableDirCheck('workspacesDir', 'workspacesDir', config.workspacesDir));
  return toReport(checks);
}
