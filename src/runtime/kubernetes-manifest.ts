/**
 * The Kubernetes objects of one job, generated from the same ContainerSpec the podman and Docker
 * engines turn into argv, with the same containment:
 *
 * - Pod: runAsNonRoot as the image's user (1000), all capabilities dropped, no privilege
 *   escalation, seccomp RuntimeDefault, read-only root filesystem, requests = limits (memory, CPU),
 *   /tmp, /var/tmp, the home directory and /dev/shm as emptyDir volumes of medium Memory with a
 *   size limit (they count against the memory limit, as tmpfs does locally), the workspace and
 *   Claude's transcripts as sub-paths of the session's PVC, the runtime files from a ConfigMap,
 *   no service-account token, no service links, restartPolicy Never, labels for reaping;
 * - Secret: the job's own proxy token (never the model-API credential, which stays with the
 *   proxy), referenced by the container's environment, owned by the Pod;
 * - NetworkPolicy: no ingress; egress only to the proxy pods when an in-cluster proxy is named,
 *   else none at all (the model API then goes through the tunnel over the exec channel).
 *
 * PID limits have no field in a Pod: they are the kubelet's podPidsLimit (docs/scaling.md).
 */
import type {
  V1ConfigMap,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import type { ContainerSpec, KubeSpec } from '../shared/protocol.js';

export const AGENT_CONTAINER = 'agent';
/** The runtime files' volume (named by their hash) is a ConfigMap on Kubernetes, not a PVC. */
export const isRuntimeVolume = (volume: string): boolean => volume.startsWith('cpod-runtime-');
/** Kubernetes wants a unit it knows: podman-style sizes ("512m", "1g") become bytes. */
export function kubeQuantity(size: string): string {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(size.trim());
  if (!m) return size;
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    m[2]!.toLowerCase() as '' | 'b' | 'k' | 'm' | 'g'
  ];
  return String(Math.round(Number(m[1]) * mult));
}

/** A name Kubernetes accepts for a volume of the Pod (DNS label). */
const volumeName = (i: number, what: string) => `${what}-${i}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');

export const tokenSecretName = (pod: string): string => `${pod}-token`;

export interface PodManifestOptions {
  kube: KubeSpec;
  /** Seconds between SIGTERM and SIGKILL when the Pod is deleted. */
  terminationGraceSeconds?: number;
}

function uidGid(user: string): { uid: number; gid: number } {
  const [u, g] = user.split(':');
  return { uid: Number(u), gid: Number(g ?? u) };
}

export function podManifest(spec: ContainerSpec, opts: PodManifestOptions): V1Pod {
  const { uid, gid } = uidGid(spec.user);
  if (!(uid > 0)) throw new Error(`a job's Pod never runs as root (user ${spec.user})`);
  const volumes: NonNullable<NonNullable<V1Pod['spec']>['volumes']> = [];
  const mounts: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string }> = [];
  const memoryDir = (target: string, size: string) => {
    const name = volumeName(volumes.length, 'mem');
    volumes.push({ name, emptyDir: { medium: 'Memory', sizeLimit: kubeQuantity(size) } });
    mounts.push({ name, mountPath: target });
  };
  memoryDir('/tmp', spec.tmpfsSize);
  for (const t of spec.tmpfsMounts ?? []) memoryDir(t.target, t.size);
  if (spec.shmSize) memoryDir('/dev/shm', spec.shmSize);
  const claims = new Map<string, string>();
  for (const m of spec.mounts) {
    if (m.type !== 'volume') throw new Error(`a Pod mounts no host path (${m.target} from ${m.source})`);
    const runtime = isRuntimeVolume(m.source);
    let name = claims.get(m.source);
    if (!name) {
      name = volumeName(volumes.length, runtime ? 'runtime' : 'session');
      claims.set(m.source, name);
      volumes.push(
        runtime
          ? { name, configMap: { name: m.source, defaultMode: 0o555 } }
          : { name, persistentVolumeClaim: { claimName: m.source } },
      );
    }
    mounts.push({
      name,
      mountPath: m.target,
      ...(m.readonly ? { readOnly: true } : {}),
      ...(m.subPath ? { subPath: m.subPath } : {}),
    });
  }
  const secretName = tokenSecretName(spec.name);
  const env = [
    ...Object.entries(spec.env).map(([name, value]) => ({ name, value })),
    ...Object.keys(spec.secretEnv).map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: secretName, key: name } },
    })),
  ];
  const resources = { cpu: spec.cpus, memory: kubeQuantity(spec.memory) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace: opts.kube.namespace, labels: { ...spec.labels } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      terminationGracePeriodSeconds: opts.terminationGraceSeconds ?? 10,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: AGENT_CONTAINER,
          image: spec.image,
          imagePullPolicy: opts.kube.imagePullPolicy,
          // Through sh: a ConfigMap's file modes are not honoured everywhere (podman kube play).
          ...(spec.entrypoint ? { command: ['/bin/sh', spec.entrypoint] } : {}),
          args: spec.command,
          workingDir: spec.workdir,
          // The prompt arrives on stdin through the attach API and stdin closes after it.
          stdin: spec.stdin !== undefined,
          stdinOnce: spec.stdin !== undefined,
          tty: false,
          env,
          resources: { requests: resources, limits: resources },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: uid,
            runAsGroup: gid,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: spec.readOnlyRootfs ?? true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: mounts,
        },
      ],
      volumes,
    },
  };
}

/** The job's proxy token (what `secretEnv` holds), for the Pod's environment only. */
export function tokenSecret(spec: ContainerSpec, namespace: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: tokenSecretName(spec.name), namespace, labels: { ...spec.labels } },
    type: 'Opaque',
    stringData: { ...spec.secretEnv },
  };
}

/** Where the proxy pods are, for a cluster that runs the model-API proxy in-cluster. */
export interface ProxyPeer {
  podSelector: Record<string, string>;
  port: number;
}

/**
 * The job Pod talks to nothing but the proxy: no ingress at all, egress only to the proxy pods on
 * their port (no DNS, no other pod, no address outside), or none when the proxy is reached
 * through the exec tunnel.
 */
export function jobNetworkPolicy(
  spec: ContainerSpec,
  namespace: string,
  proxy: ProxyPeer | null,
): V1NetworkPolicy {
  const job = spec.labels['io.claude-pod.job'];
  if (!job) throw new Error('a job Pod carries its job label');
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${spec.name}-egress`, namespace, labels: { ...spec.labels } },
    spec: {
      podSelector: { matchLabels: { 'io.claude-pod.job': job } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: proxy
        ? [
            {
              to: [{ podSelector: { matchLabels: { ...proxy.podSelector } } }],
              ports: [{ protocol: 'TCP', port: proxy.port }],
            },
          ]
        : [],
    },
  };
}

/** A session's PVC: its workspace and Claude's transcripts in two sub-directories. */
export function sessionClaim(
  name: string,
  kube: KubeSpec,
  labels: Record<string, string>,
): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: kube.namespace, labels: { ...labels } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: kube.workspaceSize } },
      ...(kube.storageClass ? { storageClassName: kube.storageClass } : {}),
    },
  };
}

export const HELPER_CONTAINER = 'helper';
/** Where a helper Pod mounts the PVC it copies into or out of. */
export const HELPER_MOUNT = '/workspace';

export interface HelperPodOptions {
  name: string;
  claim: string;
  image: string;
  kube: KubeSpec;
  labels: Record<string, string>;
  /** The helper ends by itself after this long (a copy whose caller crashed leaves nothing running). */
  deadlineSeconds: number;
}

/**
 * A short-lived Pod that copies a session's PVC in or out through exec (`tar` on stdin/stdout):
 * the same containment as a job's Pod (non-root 1000, no capabilities, no privilege escalation,
 * seccomp RuntimeDefault, read-only root, no service-account token, requests = limits), no
 * network use (it gets none from its command), the PVC at /workspace, labels for reaping.
 */
export function helperPod(o: HelperPodOptions): V1Pod {
  const resources = { cpu: '500m', memory: kubeQuantity('256m') };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.kube.namespace, labels: { ...o.labels } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      terminationGracePeriodSeconds: 0,
      activeDeadlineSeconds: o.deadlineSeconds,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: HELPER_CONTAINER,
          image: o.image,
          imagePullPolicy: o.kube.imagePullPolicy,
          // Waits for the execs; deleted after them (or ended by the deadline).
          command: ['sleep', String(o.deadlineSeconds)],
          stdin: false,
          tty: false,
          resources: { requests: resources, limits: resources },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [
            { name: 'session', mountPath: HELPER_MOUNT },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'session', persistentVolumeClaim: { claimName: o.claim } },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: kubeQuantity('16m') } },
      ],
    },
  };
}

/** The runtime files (entrypoint, forwarder, relay) as a ConfigMap the Pod mounts read-only. */
export function runtimeConfigMap(
  name: string,
  namespace: string,
  files: Record<string, string>,
  labels: Record<string, string> = {},
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { ...labels, 'io.claude-pod.managed': 'true' } },
    data: { ...files },
  };
}
