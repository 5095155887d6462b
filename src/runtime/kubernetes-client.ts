/**
 * What the Kubernetes engine and the Kubernetes volume store share: loading the kubeconfig, the
 * errors of API calls (RuntimeCallError, state unknown, when the server gave no answer), a Pod's
 * state, waiting for a Pod to run (a watch by name), and a command run in a Pod's container
 * through the exec API with its stdin and stdout streamed.
 */
import { PassThrough } from 'node:stream';
import { CoreV1Api, Exec, KubeConfig, Watch, type V1Pod, type V1Status } from '@kubernetes/client-node';
import type { KubeSpec, RuntimeSpec } from '../shared/protocol.js';
import { RuntimeCallError, type ContainerStatus, type ExecSession, type StreamEnd } from './engine.js';
import { AGENT_CONTAINER } from './kubernetes-manifest.js';

/** The HTTP status of a failed API call, when the server answered. */
export function statusOf(error: unknown): number | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

export const isNotFound = (error: unknown): boolean => statusOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusOf(error) === 409;

export function callError(verb: string, error: unknown): RuntimeCallError {
  if (error instanceof RuntimeCallError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RuntimeCallError(verb, message.split('\n')[0] ?? message, { status: statusOf(error) });
}

export async function withTimeout<T>(verb: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RuntimeCallError(verb, `no answer within ${ms} ms`, { timedOut: true })),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A runtime spec's Kubernetes settings, its kubeconfig (given, or loaded from them) and core API client. */
export function kubeClients(
  rt: RuntimeSpec,
  kc?: KubeConfig,
): { kube: KubeSpec; kc: KubeConfig; core: CoreV1Api } {
  if (!rt.kube) throw new RuntimeCallError('kubernetes', 'no kube settings in the runtime spec');
  const config = kc ?? loadKubeConfig(rt.kube);
  return { kube: rt.kube, kc: config, core: config.makeApiClient(CoreV1Api) };
}

export function loadKubeConfig(kube: KubeSpec): KubeConfig {
  const kc = new KubeConfig();
  if (kube.kubeconfig) kc.loadFromFile(kube.kubeconfig);
  else kc.loadFromDefault();
  if (kube.context) kc.setCurrentContext(kube.context);
  return kc;
}

export interface PodState {
  status: ContainerStatus;
  exitCode: number | null;
  oomKilled: boolean;
}

/** A Pod's state as the state of one of its containers (the job's agent unless named). */
export function podStatus(pod: V1Pod, container = AGENT_CONTAINER): PodState {
  const c = pod.status?.containerStatuses?.find((s) => s.name === container);
  const terminated = c?.state?.terminated;
  if (pod.metadata?.deletionTimestamp && !terminated)
    return { status: 'removing', exitCode: null, oomKilled: false };
  if (terminated) {
    return { status: 'exited', exitCode: terminated.exitCode, oomKilled: terminated.reason === 'OOMKilled' };
  }
  switch (pod.status?.phase) {
    case 'Pending':
      return { status: 'created', exitCode: null, oomKilled: false };
    case 'Running':
      return { status: c?.state?.running ? 'running' : 'created', exitCode: null, oomKilled: false };
    default:
      return { status: 'unknown', exitCode: null, oomKilled: false };
  }
}

/** Resolves once the Pod's container runs or has ended ('unknown' when the Pod was deleted). */
export function waitPodStarted(
  kc: KubeConfig,
  namespace: string,
  name: string,
  ms: number,
  container = AGENT_CONTAINER,
): Promise<ContainerStatus> {
  const watch = new Watch(kc);
  return new Promise<ContainerStatus>((resolve, reject) => {
    let settled = false;
    let abort: AbortController | null = null;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort?.abort();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new RuntimeCallError('watch', `pod ${name} did not start within ${ms} ms`))),
      ms,
    );
    watch
      .watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { fieldSelector: `metadata.name=${name}` },
        (phase, obj: V1Pod) => {
          if (phase === 'DELETED') return finish(() => resolve('unknown'));
          const { status } = podStatus(obj, container);
          if (status === 'running' || status === 'exited') finish(() => resolve(status));
        },
        (error: unknown) => {
          if (error) finish(() => reject(callError('watch', error)));
          else finish(() => resolve('unknown'));
        },
      )
      .then(
        (controller) => {
          abort = controller;
          if (settled) controller.abort();
        },
        (error: unknown) => finish(() => reject(callError('watch', error))),
      );
  });
}

/**
 * `command` in the Pod's container through the exec API: stdin and stdout streamed (bytes), the
 * exit code from the final status (null when the call got no answer or none came).
 */
export function podExec(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  command: string[],
  container = AGENT_CONTAINER,
): ExecSession {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let tail = '';
  stderr.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-2000)));
  let socket: { close(): void } | null = null;
  let killed = false;
  const done = new Promise<StreamEnd>((resolve) => {
    let status: V1Status | null = null;
    new Exec(kc)
      .exec(namespace, pod, container, command, stdout, stderr, stdin, false, (s) => {
        status = s;
      })
      .then(
        (ws) => {
          socket = ws;
          if (killed) ws.close();
          ws.on('close', () => {
            stdout.end();
            resolve({ exitCode: exitCodeOf(status), signal: null, spawnError: null, stderrTail: tail });
          });
        },
        (error: unknown) => {
          stdout.end();
          resolve({
            exitCode: null,
            signal: null,
            spawnError: null,
            stderrTail: callError('exec', error).message,
          });
        },
      );
  });
  return {
    stdin,
    stdout,
    done,
    kill: () => {
      killed = true;
      socket?.close();
    },
  };
}

/** The exit code an exec's final status carries (Success: 0; NonZeroExitCode: its ExitCode cause). */
export function exitCodeOf(status: V1Status | null): number | null {
  if (!status) return null;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message ? Number(cause.message) : null;
}
