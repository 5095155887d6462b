import type { Readable } from 'node:stream';
import type { RuntimeSpec } from '../shared/protocol.js';
import type { VolumeOptions, VolumeRef, VolumeStore } from './volumes.js';

export class KubernetesVolumeStore implements VolumeStore {
  constructor(readonly rt: RuntimeSpec) {}
  load(_ref: VolumeRef, _tar: Readable, _opts: VolumeOptions): Promise<void> {
    throw new Error('todo');
  }
  save(_ref: VolumeRef, _opts: VolumeOptions): Promise<{ tar: Readable; done: Promise<void> }> {
    throw new Error('todo');
  }
  complete(_ref: VolumeRef, _opts: VolumeOptions): Promise<boolean> {
    throw new Error('todo');
  }
  remove(_volume: string): Promise<void> {
    throw new Error('todo');
  }
}
