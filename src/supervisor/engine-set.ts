import { createEngine, createVolumeStore } from '../runtime/create-engine.js';
import type { VolumeStore } from '../runtime/volumes.js';
import { detectRuntime } from '../runtime/detect.js';
import type { ContainerEngine } from '../runtime/engine.js';
import { remoteRuntimeSpec } from '../runtime/remote-spec.js';
import { toRuntimeSpec, type RuntimeInfo } from '../runtime/runtime-info.js';
import { workerThreadsFor, type ResolvedConfig } from '../shared/config.js';
import { DEFAULT_ENGINE, isRemoteEngine, type EngineConfig } from '../shared/engine-config.js';
import type { RuntimeSpec } from '../shared/protocol.js';
import { InlineJobPool } from './inline-pool.js';
import { JobPool, type JobPoolLike } from './pool.js';

/** Where a remote engine's containers find this host's files: nowhere, unless a shared path says so. */
export interface RemoteStorage {
  sharedPaths: Array<{ host: string; engine: string }>;
}

/** One engine as the supervisor uses it: its client, what workers build theirs from, its slots. */
export interface EngineEntry {
  readonly name: string;
  readonly engine: ContainerEngine;
  /** Plain data a worker thread builds its own client from. */
  readonly rt: RuntimeSpec;
  /** What is known of a local engine (limits, rootless…); null for a remote one. */
  readonly runtime: RuntimeInfo | null;
  /** null: containers see this host (bind mounts, the proxy's socket); else volumes and a tunnel. */
  readonly remote: RemoteStorage | null;
  readonly maxConcurrentJobs: number;
  /** Its own worker pool, sized to its slots: its queue is that engine's queue. */
  readonly pool: JobPoolLike;
  /** A remote engine's volumes (the runtime files' volume is made from the main thread). */
  readonly volumes: VolumeStore | null;
}

/** Test and benchmark overrides of one engine (by name; `local` without `engines`). */
export interface EngineOverride {
  engine?: ContainerEngine;
  pool?: JobPoolLike;
  runtime?: RuntimeInfo;
  /** Treat as remote (volumes, tunnel) whatever the config says. */
  remote?: RemoteStorage | null;
  volumes?: VolumeStore;
}

export interface EngineSetOptions {
  overrides?: Record<string, EngineOverride>;
  inlineJobsForBenchmark?: boolean;
}

/**
 * The engines of a config: without `engines`, the one local engine the seed's `runtime` names
 * (detected here, as before); with it, each configured engine. A remote engine is not asked
 * anything here: one that is down when the supervisor starts must not stop the others.
 */
export async function buildEngineSet(
  config: ResolvedConfig,
  opts: EngineSetOptions = {},
): Promise<EngineEntry[]> {
  const configured: EngineConfig[] = config.engines ?? [];
  if (configured.length === 0) {
    const o = opts.overrides?.[DEFAULT_ENGINE] ?? {};
    const runtime =
      o.runtime ?? (await detectRuntime({ runtime: config.runtime, ociRuntime: config.ociRuntime }));
    const rt = toRuntimeSpec(runtime);
    return [
      {
        name: DEFAULT_ENGINE,
        engine: o.engine ?? createEngine(rt),
        rt,
        runtime,
        remote: o.remote ?? null,
        maxConcurrentJobs: config.maxConcurrentJobs,
        pool: o.pool ?? newPool(config.maxConcurrentJobs, config.workerThreads, opts),
        volumes: o.remote ? (o.volumes ?? createVolumeStore(rt)) : null,
      },
    ];
  }
  const entries: EngineEntry[] = [];
  for (const e of configured) {
    const o = opts.overrides?.[e.name] ?? {};
    const slots = e.maxConcurrentJobs ?? config.maxConcurrentJobs;
    let runtime: RuntimeInfo | null = o.runtime ?? null;
    let rt: RuntimeSpec;
    if (runtime) rt = toRuntimeSpec(runtime);
    else if (isRemoteEngine(e)) rt = await remoteRuntimeSpec(e);
    else if (e.kind === 'kubernetes') throw new Error('this should not happen: a local kubernetes engine');
    else {
      runtime = await detectRuntime({ runtime: e.kind, ociRuntime: config.ociRuntime });
      rt = toRuntimeSpec(runtime);
    }
    const remote =
      o.remote !== undefined
        ? o.remote
        : isRemoteEngine(e)
          ? { sharedPaths: e.kind === 'kubernetes' ? [] : [...(e.sharedPaths ?? [])] }
          : null;
    entries.push({
      name: e.name,
      engine: o.engine ?? createEngine(rt),
      rt,
      runtime,
      remote,
      maxConcurrentJobs: slots,
      pool: o.pool ?? newPool(slots, config.workerThreads, opts),
      volumes: remote ? (o.volumes ?? createVolumeStore(rt)) : null,
    });
  }
  return entries;
}

/**
 * An engine's pool: its slots are its running jobs; its threads follow `workerThreads` (capped by
 * the slots), so each engine's jobs share a bounded set of threads of its own.
 */
function newPool(size: number, workerThreads: number | undefined, opts: EngineSetOptions): JobPoolLike {
  const threads = workerThreadsFor({
    maxConcurrentJobs: size,
    ...(workerThreads === undefined ? {} : { workerThreads }),
  });
  return opts.inlineJobsForBenchmark
    ? new InlineJobPool(size, undefined, {}, threads)
    : new JobPool({ maxJobs: size, threads });
}
