import type { RuntimeSpec } from '../shared/protocol.js';
import { CliEngine } from './cli-engine.js';
import type { ContainerEngine } from './engine.js';

/**
 * The engine a runtime spec names. Specs are plain data so they can cross to a worker thread,
 * which builds its own engine from one; an engine object given directly (tests) wins.
 */
export function createEngine(spec: RuntimeSpec): ContainerEngine {
  return new CliEngine(spec);
}
