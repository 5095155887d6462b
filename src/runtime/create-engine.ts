import type { RuntimeSpec } from '../shared/protocol.js';
import { CliEngine } from './cli-engine.js';
import { CliVolumeStore } from './cli-volumes.js';
import type { VolumeStore } from './volumes.js';
import { KubernetesVolumeStore } from './kubernetes-volumes.js';
import type { ContainerEngine } from './engine.js';
import { KubernetesEngine } from './kubernetes-engine.js';

/**
 * The engine a runtime spec names. Specs are plain data so they can cross to a worker thread,
 * which builds its own engine from one; an engine object given directly (tests) wins.
 */
export function createEngine(spec: RuntimeSpec): ContainerEngine {
  if (spec.kind === 'kubernetes') return new KubernetesEngine(spec);
  return new CliEngine(spec);
}

/** The volumes of the engine a runtime spec names (remote jobs' workspaces). */
export function createVolumeStore(spec: RuntimeSpec): VolumeStore {
  if (spec.kind === 'kubernetes') return new KubernetesVolumeStore(spec);
  return new CliVolumeStore(spec);
}
