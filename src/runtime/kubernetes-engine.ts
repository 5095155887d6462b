/**
 * A Kubernetes cluster behind the ContainerEngine interface, through the official client
 * (@kubernetes/client-node): each job is a Pod (kubernetes-manifest.ts) with its token Secret and
 * its NetworkPolicy, all carrying the job's labels.
 *
 * - run: create the Secret, the NetworkPolicy and the Pod; watch the Pod until it runs (or ended);
 *   write the prompt to its stdin through the attach API (stdinOnce closes it); follow the log;
 * - follow: the log API (`follow=true`) from the first byte: the output store skips the bytes it
 *   already holds, so a re-attach after a crash loses nothing and duplicates nothing;
 * - kill: the signal sent by `kill` through the exec API (SIGINT on cancel); remove: delete the
 *   Pod (with gracePeriodSeconds), its Secret and its NetworkPolicy;
 * - list: pods by label selector; inspect: the Pod's phase and its container's terminated state;
 * - stats: null (metrics.k8s.io is optional in a cluster; doc/scaling.md).
 *
 * A call that got no answer (network, 5xx, timeout) throws RuntimeCallError: state unknown.
 */
import { PassThrough, Writable } from 'node:stream';
import type { CoreV1Api } from '@kubernetes/client-node';
import { Attach, Log, NetworkingV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { ContainerSpec, KubeSpec, RuntimeSpec } from '../shared/protocol.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  RuntimeCallError,
  type CallOptions,
  type ContainerEngine,
  type ContainerState,
  type ContainerStatus,
  type ContainerStream,
  type ContainerSummary,
  type ExecSession,
  type KillResult,
  type StatsSample,
  type StreamEnd,
} from './engine.js';
import {
  AGENT_CONTAINER,
  jobNetworkPolicy,
  podManifest,
  tokenSecret,
  tokenSecretName,
} from './kubernetes-manifest.js';
import {
  callError,
  isConflict,
  isNotFound,
  kubeClients,
  podExec,
  podStatus,
  waitPodStarted,
  withTimeout,
} from './kubernetes-client.js';

export class KubernetesEngine implements ContainerEngine {
  readonly kind = 'kubernetes' as const;
  readonly local = false;
  private readonly kube: KubeSpec;
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly net: NetworkingV1Api;

  constructor(
    readonly rt: RuntimeSpec,
    kc?: KubeConfig,
  ) {
    ({ kube: this.kube, kc: this.kc, core: this.core } = kubeClients(rt, kc));
    this.net = this.kc.makeApiClient(NetworkingV1Api);
  }

  private get namespace(): string {
    return this.kube.namespace;
  }

  /** Creates the job's Secret, NetworkPolicy and Pod (each one that exists already is kept). */
  async create(spec: ContainerSpec, opts: CallOptions = {}): Promise<void> {
    const ms = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const namespace = this.namespace;
    const keep = (error: unknown) => {
      if (!isConflict(error)) throw callError('create', error);
    };
    if (Object.keys(spec.secretEnv).length > 0) {
      await withTimeout(
        'create secret',
        this.core.createNamespacedSecret({ namespace, body: tokenSecret(spec, namespace) }).catch(keep),
        ms,
      );
    }
    await withTimeout(
      'create networkpolicy',
      this.net
        .createNamespacedNetworkPolicy({ namespace, body: jobNetworkPolicy(spec, namespace, null) })
        .catch(keep),
      ms,
    );
    await withTimeout(
      'create pod',
      this.core.createNamespacedPod({ namespace, body: podManifest(spec, { kube: this.kube }) }).catch(keep),
      ms,
    );
  }

  /** Resolves with the Pod once it runs or has ended (a watch on it by name). */
  waitStarted(name: string, ms = 10 * 60_000): Promise<ContainerStatus> {
    return waitPodStarted(this.kc, this.namespace, name, ms);
  }

  run(spec: ContainerSpec): ContainerStream {
    const out = new PassThrough();
    let inner: ContainerStream | null = null;
    let detached = false;
    const done = (async (): Promise<StreamEnd> => {
      try {
        await this.create(spec);
        const state = await this.waitStarted(spec.name);
        if (spec.stdin !== undefined && state === 'running') await this.writeStdin(spec.name, spec.stdin);
      } catch (error) {
        out.end();
        return {
          exitCode: null,
          signal: null,
          spawnError: null,
          stderrTail: String((error as Error).message),
        };
      }
      if (detached) {
        out.end();
        return { exitCode: null, signal: null, spawnError: null, stderrTail: '' };
      }
      inner = this.follow(spec.name);
      inner.stdout.pipe(out);
      return inner.done;
    })();
    return {
      stdout: out,
      done,
      detach: () => {
        detached = true;
        inner?.detach();
      },
    };
  }

  /** The prompt to the container's stdin (attach API); stdinOnce closes it after. */
  private async writeStdin(name: string, text: string): Promise<void> {
    const stdin = new PassThrough();
    const attach = new Attach(this.kc);
    const ws = await attach
      .attach(this.namespace, name, AGENT_CONTAINER, null, null, stdin, false)
      .catch((error: unknown) => {
        throw callError('attach', error);
      });
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      stdin.end(text);
    });
  }

  follow(name: string): ContainerStream {
    const out = new PassThrough();
    let controller: AbortController | null = null;
    let detached = false;
    let resolveEnd!: (end: StreamEnd) => void;
    const done = new Promise<StreamEnd>((r) => (resolveEnd = r));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (!out.write(chunk)) out.once('drain', cb);
        else cb();
      },
    });
    const end = (stderrTail: string) => {
      out.end();
      void this.inspect(name)
        .then((s) => s?.exitCode ?? null)
        .catch(() => null)
        .then((exitCode) => resolveEnd({ exitCode, signal: null, spawnError: null, stderrTail }));
    };
    // The client ends the sink when the log stream ends (its `done` callback is never called).
    let ended = false;
    const once = (why: string) => {
      if (ended) return;
      ended = true;
      end(why);
    };
    sink.on('finish', () => once(''));
    sink.on('error', (error) => once(String(error)));
    new Log(this.kc).log(this.namespace, name, AGENT_CONTAINER, sink, { follow: true }).then(
      (c) => {
        controller = c;
        if (detached) c.abort();
      },
      (error: unknown) => once(callError('logs', error).message),
    );
    return {
      stdout: out,
      done,
      detach: () => {
        detached = true;
        controller?.abort();
      },
    };
  }

  async inspect(name: string, opts: CallOptions = {}): Promise<ContainerState | null> {
    let pod: V1Pod;
    try {
      pod = await withTimeout(
        'inspect',
        this.core.readNamespacedPod({ name, namespace: this.namespace }),
        opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      if (error instanceof RuntimeCallError) throw error;
      throw callError('inspect', error);
    }
    const s = podStatus(pod);
    const c = pod.status?.containerStatuses?.find((x) => x.name === AGENT_CONTAINER);
    const iso = (d: Date | string | undefined) => (d ? new Date(d).toISOString() : null);
    return {
      id: pod.metadata?.uid ?? name,
      status: s.status,
      running: s.status === 'running',
      exitCode: s.exitCode,
      oomKilled: s.oomKilled,
      pid: null,
      startedAt: iso(c?.state?.running?.startedAt ?? c?.state?.terminated?.startedAt),
      finishedAt: iso(c?.state?.terminated?.finishedAt),
      labels: { ...(pod.metadata?.labels ?? {}) },
    };
  }

  async list(labels: Record<string, string>, opts: CallOptions = {}): Promise<ContainerSummary[]> {
    const labelSelector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    try {
      const pods = await withTimeout(
        'list',
        this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }),
        opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      );
      return pods.items.map((pod) => ({
        name: pod.metadata?.name ?? '',
        id: pod.metadata?.uid ?? '',
        status: podStatus(pod).status,
        labels: { ...(pod.metadata?.labels ?? {}) },
      }));
    } catch (error) {
      if (error instanceof RuntimeCallError) throw error;
      throw callError('list', error);
    }
  }

  async kill(name: string, signal: string, opts: CallOptions = {}): Promise<KillResult> {
    const state = await this.inspect(name, opts);
    if (!state) return 'absent';
    if (!state.running) return 'not-running';
    // Claude Code is the container's first process (the entrypoint execs it).
    const sig = signal.replace(/^SIG/, '');
    const session = this.exec(name, ['kill', '-s', sig, '1']);
    session.stdin.end();
    const end = await withTimeout('kill', session.done, opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    if (end.exitCode !== 0) throw new RuntimeCallError('kill', end.stderrTail || `exit code ${end.exitCode}`);
    return 'signalled';
  }

  async remove(name: string, opts: CallOptions = {}): Promise<void> {
    const ms = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const namespace = this.namespace;
    const gone = (error: unknown) => {
      if (!isNotFound(error)) throw callError('remove', error);
    };
    await withTimeout(
      'remove',
      this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(gone),
      ms,
    );
    await withTimeout(
      'remove',
      this.core.deleteNamespacedSecret({ name: tokenSecretName(name), namespace }).catch(gone),
      ms,
    );
    await withTimeout(
      'remove',
      this.net.deleteNamespacedNetworkPolicy({ name: `${name}-egress`, namespace }).catch(gone),
      ms,
    );
  }

  async stats(): Promise<StatsSample | null> {
    return null;
  }

  /** The kubelet pulls images; a missing one shows as the Pod failing to start (ErrImagePull). */
  async imageExists(): Promise<boolean> {
    return true;
  }

  exec(name: string, command: string[]): ExecSession {
    return podExec(this.kc, this.namespace, name, command);
  }
}
