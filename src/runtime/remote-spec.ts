import type { EngineConfig } from '../shared/engine-config.js';
import type { RuntimeSpec } from '../shared/protocol.js';
import { findRuntimeClient } from './detect.js';

/**
 * How a worker reaches a remote engine, from its config alone (the engine is not asked: one that
 * is down must not stop a supervisor from starting). podman: the remote client against the
 * service (`--remote --url`, or a named connection); docker: DOCKER_HOST or `--context`;
 * Kubernetes: the kubeconfig and namespace.
 */
export async function remoteRuntimeSpec(e: EngineConfig): Promise<RuntimeSpec> {
  if (e.kind === 'kubernetes') {
    return {
      kind: 'kubernetes',
      command: '',
      globalArgs: [],
      remote: true,
      kube: {
        ...(e.kubeconfig ? { kubeconfig: e.kubeconfig } : {}),
        ...(e.context ? { context: e.context } : {}),
        namespace: e.namespace,
        ...(e.storageClass ? { storageClass: e.storageClass } : {}),
        workspaceSize: e.workspaceSize,
        imagePullPolicy: e.imagePullPolicy,
      },
    };
  }
  const command = (await findRuntimeClient(e.kind)) ?? e.kind;
  if (e.kind === 'podman') {
    const globalArgs = e.connection
      ? ['--connection', e.connection]
      : ['--remote', '--url', e.url ?? '', ...(e.identity ? ['--identity', e.identity] : [])];
    return { kind: 'podman', command, globalArgs, remote: true };
  }
  return {
    kind: 'docker',
    command,
    globalArgs: e.context ? ['--context', e.context] : [],
    ...(e.host ? { env: { DOCKER_HOST: e.host } } : {}),
    remote: true,
  };
}
