/**
 * The one narrow interface every container engine sits behind: podman and docker (their CLI
 * clients, cli-engine.ts), the in-memory engine of the model-based tests, and remote engines.
 * The supervisor and the job runner use nothing else of a runtime.
 *
 * Faults are values the caller can act on, never guesses:
 * - `inspect` answers `null` only when the engine positively says the container does not exist;
 * - any call that could not get an answer (the client failed, timed out, printed nonsense)
 *   throws a `RuntimeCallError` (code RUNTIME_FAILED): the state is *unknown*, and the caller
 *   retries later rather than concluding anything;
 * - every call has a timeout.
 */
import type { Readable, Writable } from 'node:stream';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import type { ContainerSpec } from '../shared/protocol.js';

export type { ContainerSpec, Mount } from '../shared/protocol.js';

export type EngineKind = 'podman' | 'docker' | 'kubernetes' | 'memory';

/** A container's life as every engine reports it. `created`: exists, never started. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited' | 'removing' | 'unknown';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  running: boolean;
  /** The exit code, known only once the container has exited (null otherwise: never invented). */
  exitCode: number | null;
  oomKilled: boolean;
  /** The container's main process on the host, while it runs (null otherwise, or when remote). */
  pid: number | null;
  /** When it started; null when it never did. */
  startedAt: string | null;
  finishedAt: string | null;
  labels: Record<string, string>;
}

export interface ContainerSummary {
  name: string;
  id: string;
  status: ContainerStatus;
  labels: Record<string, string>;
}

/** How a followed stream of a container's stdout ended. */
export interface StreamEnd {
  /** The client's exit code (for `run`, normally the container's; always confirm with inspect). */
  exitCode: number | null;
  signal: string | null;
  /** The client could not be started at all (not installed, not executable). */
  spawnError: string | null;
  /** The end of what the client printed on stderr. */
  stderrTail: string;
}

/** A container's stdout as it is produced: `run` attached, or `follow` from the first byte. */
export interface ContainerStream {
  /** Raw bytes, in order. */
  readonly stdout: Readable;
  /** Resolves once the stream has ended; never rejects. */
  readonly done: Promise<StreamEnd>;
  /** Stop following; the container itself keeps running. Idempotent. */
  detach(): void;
}

/** A process run in a running container, its stdin and stdout streamed (`exec -i`). */
export interface ExecSession {
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves once the process (or the client) has ended; never rejects. */
  readonly done: Promise<StreamEnd>;
  /** Ends the session (the client); idempotent. */
  kill(): void;
}

export interface CallOptions {
  timeoutMs?: number;
}

export type KillResult = 'signalled' | 'absent' | 'not-running';

export interface StatsSample {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  pids: number | null;
}

export interface ContainerEngine {
  readonly kind: EngineKind;
  /** Whether containers run on this host, so their cgroup files and pids can be read directly. */
  readonly local: boolean;
  /** Create, start and attach to a container; its stdout streams back. */
  run(spec: ContainerSpec): ContainerStream;
  /** The container's log from its first byte, following until the container ends. */
  follow(name: string): ContainerStream;
  /** The container's state; null only when the engine says there is no such container. */
  inspect(name: string, opts?: CallOptions): Promise<ContainerState | null>;
  /** Every container (running or not) carrying all of these labels. Throws when it cannot tell. */
  list(labels: Record<string, string>, opts?: CallOptions): Promise<ContainerSummary[]>;
  kill(name: string, signal: string, opts?: CallOptions): Promise<KillResult>;
  /** Removes a container, killing it at once if it runs. An absent container is not an error. */
  remove(name: string, opts?: CallOptions): Promise<void>;
  /** One metrics sample; null when the engine cannot give one (e.g. rootless on cgroups v1). */
  stats(name: string, opts?: CallOptions): Promise<StatsSample | null>;
  imageExists(image: string, opts?: CallOptions): Promise<boolean>;
  /**
   * Runs `command` in the running container `name` as its user, stdin and stdout streamed: the
   * channel a remote job's model-API tunnel runs over (and, on Kubernetes, how a signal is sent).
   */
  exec(name: string, command: string[]): ExecSession;
}

/** A runtime call that gave no answer: the state it asked about is unknown. */
export class RuntimeCallError extends ClaudePodError {
  constructor(
    readonly verb: string,
    why: string,
    details: Record<string, unknown> = {},
  ) {
    super(ErrorCodes.RUNTIME_FAILED, `container runtime: \`${verb}\` failed: ${why}`, {
      details: { verb, ...details },
    });
  }
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
