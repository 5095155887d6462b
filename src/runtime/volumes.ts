import type { Readable } from 'node:stream';

/** A volume (or a sub-directory of one) as a job mounts it. */
export interface VolumeRef {
  volume: string;
  subPath?: string;
}

export interface VolumeOptions {
  /** Labels for the volume and any helper the engine needs, so they can be found and reaped. */
  labels: Record<string, string>;
  /** An image the engine has, for helper containers. */
  image: string;
  /** After a load: mark the volume complete (what `complete` looks for). */
  markComplete?: boolean;
}

/**
 * Volumes on a remote engine's host, kept in step with directories of this host: the workspace
 * and Claude's transcripts of a session (seeded before a job runs, copied back after it ended),
 * and the files that run before Claude Code (written once per engine, named by their hash).
 * Every call has an answer or throws RUNTIME_FAILED (unknown), as engine calls do.
 */
export interface VolumeStore {
  /** Replaces what the volume holds with the tar stream's content; creates it when missing. */
  load(ref: VolumeRef, tar: Readable, opts: VolumeOptions): Promise<void>;
  /** What the volume holds, as a tar stream (entries relative to its root). */
  save(ref: VolumeRef, opts: VolumeOptions): Promise<{ tar: Readable; done: Promise<void> }>;
  /** Whether the volume exists and was completely written (`load` finished). */
  complete(ref: VolumeRef, opts: VolumeOptions): Promise<boolean>;
  remove(volume: string): Promise<void>;
}
