/**
 * The Kubernetes backend's Pod, run for real: the objects the backend generates for a job (its
 * Pod, the Secret holding the job's proxy token, the runtime files' ConfigMap; the session PVC
 * becomes a podman volume) are played with `podman kube play`, and the in-container checks of the
 * hardening test run inside the Pod's container (only its command differs, as there).
 *
 * What podman cannot show here: the Pod's network is `--network none` (a cluster gives the Pod an
 * interface, and the NetworkPolicy, which podman ignores, does the fencing); PID limits are the
 * kubelet's (podPidsLimit), not a field of the Pod.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectRuntime } from '../../../src/runtime/detect.js';
import {
  AGENT_CONTAINER,
  kubeQuantity,
  podManifest,
  runtimeConfigMap,
  tokenSecret,
} from '../../../src/runtime/kubernetes-manifest.js';
import { DEFAULT_ULIMITS } from '../../../src/runtime/run-args.js';
import { parseConfig } from '../../../src/shared/config.js';
import type { KubeSpec, RuntimeSpec } from '../../../src/shared/protocol.js';
import { parseSize } from '../../../src/shared/sizes.js';
import { containerSpec, SHM_SIZE, VAR_TMP_SIZE } from '../../../src/supervisor/job-spec.js';
import type { JobRecord } from '../../../src/supervisor/records.js';
import { remoteJobParts } from '../../../src/supervisor/remote-job.js';
import { HARDENING_SCRIPT, parseFacts } from '../../fixtures/hardening-script.js';
import { requireOrSkip } from '../helpers/remote-engines.js';
import { TEST_RUN_LABEL } from '../helpers/runtime.js';

const podman = await detectRuntime({ runtime: 'podman', ociRuntime: 'auto' }).catch(() => null);
const image = parseConfig({}).image;
const hasImage =
  podman !== null &&
  (await execa(podman.command, ['image', 'exists', image], { reject: false })).exitCode === 0;
const skip = requireOrSkip('podman with the agent image', hasImage);

const MEMORY = '384m';
const runId = randomBytes(4).toString('hex');
const kube: KubeSpec = { namespace: 'claude-pod', workspaceSize: '1Gi', imagePullPolicy: 'Never' };
const kubeRuntime: RuntimeSpec = { kind: 'kubernetes', command: '', globalArgs: [], remote: true, kube };

describe.skipIf(skip !== '')(`the Kubernetes Pod under podman kube play${skip}`, () => {
  const facts: Record<string, string> = {};
  let dir: string;
  let playFile: string;
  let claim: string;
  let runtimeName: string;
  let manifest: ReturnType<typeof podManifest>;
  const podmanCall = (args: string[], env: Record<string, string> = {}) =>
    execa(podman!.command, [...podman!.globalArgs, ...args], { reject: false, env });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-kube-play-'));
    const config = parseConfig({ memory: MEMORY });
    const job = {
      jobId: `job-kube-${runId}`,
      sessionId: `sess-kube-${runId}`,
      prompt: '',
      resumeClaudeSessionId: null,
    } as unknown as JobRecord;
    const base = {
      config,
      runtime: kubeRuntime,
      ownerId: `kubeplay${runId}`,
      job,
      containerName: `claude-pod-job-kube-${runId}`,
      outputPath: join(dir, 'out'),
      workspaceDir: join(dir, 'ws'),
      claudeDir: join(dir, 'claude'),
      runtimeDir: join(dir, `.runtime-${runId}`),
      mode: 'run' as const,
      api: { socketDir: join(dir, 'proxy'), token: `job-token-${runId}`, kind: 'api-key' as const },
    };
    const remote = remoteJobParts(base, { sharedPaths: [] });
    const spec = containerSpec({ ...base, remote });
    spec.labels[TEST_RUN_LABEL] = runId;
    spec.command = ['sh', '-c', HARDENING_SCRIPT];
    delete spec.stdin;
    manifest = podManifest(spec, { kube });
    claim = remote.mounts.find((m) => m.target === '/workspace')!.source;

    const files: Record<string, string> = {};
    for (const name of await readdir('container/runtime')) {
      files[name] = await readFile(join('container/runtime', name), 'utf8');
    }
    runtimeName = remote.job.runtimeVolume;
    const cm = runtimeConfigMap(runtimeName, kube.namespace, files);
    const secret = tokenSecret(spec, kube.namespace);
    // YAML is a superset of JSON: the objects as the backend sends them, one document each.
    playFile = join(dir, 'play.yaml');
    await writeFile(playFile, JSON.stringify(manifest));
    // podman 4.3 reads a secretKeyRef from a podman secret holding the Secret's data as a JSON
    // map of base64 values (a Secret document in the play file is stored as YAML it cannot read).
    const secretFile = join(dir, 'secret.json');
    const data = Object.fromEntries(
      Object.entries(secret.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    );
    await writeFile(secretFile, JSON.stringify(data));
    const created = await podmanCall(['secret', 'create', secret.metadata!.name!, secretFile]);
    expect(created.exitCode, String(created.stderr)).toBe(0);
    const cmFile = join(dir, 'configmap.yaml');
    await writeFile(cmFile, JSON.stringify(cm));
    // The runc here refuses podman's default rlimits (as for every job: run-args.ts).
    const conf = join(dir, 'containers.conf');
    await writeFile(
      conf,
      `[containers]\ndefault_ulimits = [${DEFAULT_ULIMITS.map((u) => JSON.stringify(u)).join(', ')}]\n`,
    );
    const played = await podmanCall(['kube', 'play', '--network', 'none', '--configmap', cmFile, playFile], {
      CONTAINERS_CONF: conf,
    });
    expect(played.exitCode, String(played.stderr)).toBe(0);
    const container = `${manifest.metadata!.name}-${AGENT_CONTAINER}`;
    const waited = await podmanCall(['wait', container]);
    expect(String(waited.stdout).trim(), String(waited.stderr)).toBe('0');
    const logs = await podmanCall(['logs', container]);
    Object.assign(facts, parseFacts(String(logs.stdout)));
  }, 180_000);

  afterAll(async () => {
    if (playFile) await podmanCall(['kube', 'down', playFile]);
    if (claim) await podmanCall(['volume', 'rm', '-f', claim]);
    if (runtimeName) await podmanCall(['volume', 'rm', '-f', runtimeName]);
    if (manifest) await podmanCall(['secret', 'rm', `${manifest.metadata!.name}-token`]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('generates the containment a cluster enforces (the fields themselves)', () => {
    const pod = manifest.spec!;
    const c = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const cpu = parseConfig({}).cpus;
    expect(c.resources).toEqual({
      requests: { cpu, memory: kubeQuantity(MEMORY) },
      limits: { cpu, memory: kubeQuantity(MEMORY) },
    });
    for (const [target, size] of [
      ['/tmp', parseConfig({}).tmpfsSize],
      ['/var/tmp', VAR_TMP_SIZE],
      ['/home/agent', parseConfig({}).homeSize],
      ['/dev/shm', SHM_SIZE],
    ]) {
      const mount = c.volumeMounts!.find((m) => m.mountPath === target)!;
      expect(pod.volumes!.find((v) => v.name === mount.name)!.emptyDir).toEqual({
        medium: 'Memory',
        sizeLimit: kubeQuantity(size!),
      });
    }
    expect(pod.automountServiceAccountToken).toBe(false);
    const tmp = pod.volumes!.find(
      (v) => v.name === c.volumeMounts!.find((m) => m.mountPath === '/tmp')!.name,
    )!;
    expect(tmp.emptyDir).toEqual({ medium: 'Memory', sizeLimit: kubeQuantity(parseConfig({}).tmpfsSize) });
    expect(
      pod.volumes!.filter((v) => v.persistentVolumeClaim).map((v) => v.persistentVolumeClaim!.claimName),
    ).toEqual([claim]);
    // The job's token comes from its Secret; no value of it in the Pod.
    expect(JSON.stringify(manifest)).not.toContain(`job-token-${runId}`);
    expect(c.env!.find((e) => e.name === 'ANTHROPIC_API_KEY')?.valueFrom?.secretKeyRef?.name).toBe(
      `${manifest.metadata!.name}-token`,
    );
  });

  it('inside the Pod: no capabilities, no_new_privs, seccomp filter, the memory limit', () => {
    expect(facts.capeff).toBe('0000000000000000');
    // Dropped from the bounding set too: not even a setuid binary could get one back.
    expect(facts.capbnd).toBe('0000000000000000');
    expect(facts.nonewprivs).toBe('1');
    expect(facts.seccomp).toBe('2');
    expect(Number(facts.memory)).toBe(parseSize(MEMORY));
  });

  it('inside the Pod: a read-only root; /tmp, /var/tmp, home and /dev/shm are mounts of their own (nosuid)', () => {
    // Four writes outside the mounts, four refusals.
    expect(facts.rootfs_write).toBe('4');
    // podman 4.3 backs an emptyDir with a directory on its host and ignores `medium: Memory` and
    // `sizeLimit` (ext4 here): the sizes are proven as fields above and enforced only by a
    // kubelet, not by this run. What holds here: each is a separate, nosuid mount.
    for (const [line, target] of [
      [facts.tmp, '/tmp'],
      [facts.vartmp, '/var/tmp'],
      [facts.home, '/home/agent'],
      [facts.shm, '/dev/shm'],
    ] as const) {
      const [, mountPoint, , options = ''] = (line ?? '').split(/\s+/);
      expect(mountPoint).toBe(target);
      expect(options.split(',')).toContain('nosuid');
    }
    expect(facts.home_owner).toBe('1000');
    expect(facts.home_writable).toBe('yes');
    expect(facts.home_copied).toBe('yes');
  });

  it('inside the Pod: the non-root user, the workspace (PVC) writable, only loopback, a working claude', () => {
    expect(facts.uid).toBe('1000');
    expect(facts.ws_writable).toBe('yes');
    expect((facts.ifaces ?? '').split(',').filter(Boolean)).toEqual(['lo']);
    expect(facts.node).toMatch(/^v22\./);
    expect(facts.claude_exit).toBe('0');
  });
});
