import { createEngine } from '../runtime/create-engine.js';
import type { ContainerEngine } from '../runtime/engine.js';
import { LABEL_MANAGED } from '../runtime/labels.js';
import { remoteRuntimeSpec } from '../runtime/remote-spec.js';
import type { ResolvedConfig } from '../shared/config.js';
import { isRemoteEngine, type EngineConfig } from '../shared/engine-config.js';
import type { Check } from './checks.js';

const PROBE_TIMEOUT_MS = 15_000;

function where(e: EngineConfig): string {
  if (e.kind === 'kubernetes') return `kubernetes ${e.context ?? '(current context)'}/${e.namespace}`;
  if (e.kind === 'podman') return `podman ${e.connection ?? e.url ?? '(local)'}`;
  return `docker ${e.context ?? e.host ?? '(local)'}`;
}

/**
 * Each remote engine of `engines`: does it answer (a list of claude-pod's containers), and does it
 * have the image (podman/Docker; a cluster's kubelet pulls it when a Pod starts). A local entry is
 * what the runtime checks above cover.
 */
export async function engineChecks(
  config: ResolvedConfig,
  build: (e: EngineConfig) => Promise<ContainerEngine> = async (e) =>
    createEngine(await remoteRuntimeSpec(e)),
): Promise<Check[]> {
  const checks: Check[] = [];
  for (const e of config.engines ?? []) {
    if (!isRemoteEngine(e)) continue;
    const id = `engine-${e.name}`;
    const label = `engine ${e.name}`;
    try {
      const engine = await build(e);
      const containers = await engine.list({ [LABEL_MANAGED]: 'true' }, { timeoutMs: PROBE_TIMEOUT_MS });
      const hasImage =
        e.kind === 'kubernetes'
          ? true
          : await engine.imageExists(config.image, { timeoutMs: PROBE_TIMEOUT_MS });
      checks.push(
        hasImage
          ? {
              id,
              label,
              status: 'ok',
              value: `${where(e)}: answers; ${containers.length} claude-pod container(s)`,
            }
          : {
              id,
              label,
              status: 'fail',
              value: `${where(e)}: answers, but has no image ${config.image}`,
              fix: `Load the image into that engine (e.g. podman save ${config.image} | podman --remote load)`,
            },
      );
    } catch (error) {
      checks.push({
        id,
        label,
        status: 'fail',
        value: `${where(e)}: no answer: ${error instanceof Error ? error.message : String(error)}`,
        fix: 'Check the engine is running and reachable with its own client (podman --remote, docker, kubectl)',
      });
    }
  }
  return checks;
}
