import type { RuntimeSpec } from '../shared/protocol.js';
import { RuntimeCallError, type ContainerEngine } from './engine.js';

/** Placeholder until the Kubernetes backend lands: every call fails as "no answer". */
export class KubernetesEngine implements ContainerEngine {
  readonly kind = 'kubernetes' as const;
  readonly local = false;
  constructor(readonly rt: RuntimeSpec) {}
  private no(): never {
    throw new RuntimeCallError('kubernetes', 'not implemented yet');
  }
  run = () => this.no();
  follow = () => this.no();
  inspect = async () => this.no();
  list = async () => this.no();
  kill = async () => this.no();
  remove = async () => this.no();
  stats = async () => null;
  imageExists = async () => this.no();
  exec = () => this.no();
}
