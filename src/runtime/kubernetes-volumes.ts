/**
 * A session's volume on Kubernetes: a PVC (kubernetes-manifest.ts `sessionClaim`), sized by the
 * KubeSpec's workspaceSize, labelled for reaping, created when missing (409: it exists). Data moves
 * as tar streams through the exec API into or out of a short-lived helper Pod (`helperPod`: the
 * job Pods' containment, the PVC at /workspace), which is deleted after each call, also when the
 * copy failed; a helper left by a crash ends by its deadline and carries `io.claude-pod.helper`.
 *
 * - load: empty the sub-path, extract the stream into it (`tar -x` on the exec's stdin), then
 *   write the completion marker when asked (cli-volumes' marker, same name);
 * - save: `tar -c` of the sub-path on the exec's stdout;
 * - complete: the PVC exists and the marker is in the sub-path;
 * - remove: delete the PVC (absent: done).
 *
 * The runtime files' volume (`cpod-runtime-…`) is a ConfigMap instead, as the job's Pod mounts it
 * (kubernetes-runtime-files.ts); it is written, never copied back.
 *
 * Every call has an answer or throws RuntimeCallError (RUNTIME_FAILED: state unknown).
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { CoreV1Api } from '@kubernetes/client-node';
import { type KubeConfig } from '@kubernetes/client-node';
import type { KubeSpec, RuntimeSpec } from '../shared/protocol.js';
import { COMPLETE_MARKER, LABEL_HELPER } from './cli-volumes.js';
import { DEFAULT_CALL_TIMEOUT_MS, RuntimeCallError, type ExecSession } from './engine.js';
import {
  callError,
  isConflict,
  isNotFound,
  kubeClients,
  podExec,
  waitPodStarted,
  withTimeout,
} from './kubernetes-client.js';
import {
  HELPER_CONTAINER,
  HELPER_MOUNT,
  helperPod,
  isRuntimeVolume,
  sessionClaim,
} from './kubernetes-manifest.js';
import { configMapComplete, loadConfigMap, removeConfigMap } from './kubernetes-runtime-files.js';
import { LABEL_MANAGED, LABEL_OWNER } from './labels.js';
import type { VolumeOptions, VolumeRef, VolumeStore } from './volumes.js';

/** Copies of large workspaces take a while; one that has not ended after this long failed. */
const COPY_TIMEOUT_MS = 10 * 60_000;
/** A PVC to bind and an image to pull before the helper runs. */
const HELPER_START_MS = 5 * 60_000;
/** The helper ends by itself after this long, whatever happened to its caller. */
const HELPER_DEADLINE_SECONDS = 60 * 60;

/** Empties "$1" (a PVC's root keeps its lost+found), extracts stdin into it, marks it when "$2" is set. */
const LOAD_SCRIPT = [
  'set -e',
  'mkdir -p "$1"',
  'find "$1" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +',
  'tar -x -p -f - -C "$1"',
  'if [ -n "$2" ]; then printf \'ok\\n\' > "$1/$2"; fi',
].join('\n');

/** What a helper runs to replace `dir`'s content with the tar on stdin (and mark it complete). */
export const loadCommand = (dir: string, markComplete: boolean): string[] => [
  'sh',
  '-c',
  LOAD_SCRIPT,
  'sh',
  dir,
  markComplete ? COMPLETE_MARKER : '',
];
/** What a helper runs to write `dir`'s content as a tar on stdout. */
export const saveCommand = (dir: string): string[] => ['tar', '-c', '-f', '-', '-C', dir, '.'];
/** Exits 0 when `dir` holds the completion marker, 1 when not. */
export const completeCommand = (dir: string): string[] => ['test', '-f', `${dir}/${COMPLETE_MARKER}`];

export class KubernetesVolumeStore implements VolumeStore {
  private readonly kube: KubeSpec;
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;

  constructor(
    readonly rt: RuntimeSpec,
    kc?: KubeConfig,
  ) {
    ({ kube: this.kube, kc: this.kc, core: this.core } = kubeClients(rt, kc));
  }

  private get namespace(): string {
    return this.kube.namespace;
  }

  private path(ref: VolumeRef): string {
    return [HELPER_MOUNT, ref.subPath].filter(Boolean).join('/');
  }

  private async createClaim(volume: string, opts: VolumeOptions): Promise<void> {
    await withTimeout(
      'create pvc',
      this.core
        .createNamespacedPersistentVolumeClaim({
          namespace: this.namespace,
          body: sessionClaim(volume, this.kube, opts.labels),
        })
        .catch((error: unknown) => {
          if (!isConflict(error)) throw callError('create pvc', error);
        }),
      DEFAULT_CALL_TIMEOUT_MS,
    );
  }

  private async claimExists(volume: string): Promise<boolean> {
    try {
      await withTimeout(
        'read pvc',
        this.core.readNamespacedPersistentVolumeClaim({ name: volume, namespace: this.namespace }),
        DEFAULT_CALL_TIMEOUT_MS,
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw callError('read pvc', error);
    }
  }

  private async deletePod(name: string): Promise<void> {
    await withTimeout(
      'delete helper',
      this.core
        .deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: 0 })
        .catch((error: unknown) => {
          if (!isNotFound(error)) throw callError('delete helper', error);
        }),
      DEFAULT_CALL_TIMEOUT_MS,
    );
  }

  /** A running helper Pod with the PVC mounted; `use` runs with its name; it is deleted after. */
  private async withHelper<T>(
    ref: VolumeRef,
    opts: VolumeOptions,
    use: (name: string) => Promise<T>,
  ): Promise<T> {
    const name = `claude-pod-helper-${randomBytes(6).toString('hex')}`;
    const body = helperPod({
      name,
      claim: ref.volume,
      image: opts.image,
      kube: this.kube,
      labels: { [LABEL_MANAGED]: 'true', [LABEL_HELPER]: opts.labels[LABEL_OWNER] ?? 'any' },
      deadlineSeconds: HELPER_DEADLINE_SECONDS,
    });
    try {
      await withTimeout(
        'create helper',
        this.core.createNamespacedPod({ namespace: this.namespace, body }).catch((error: unknown) => {
          throw callError('create helper', error);
        }),
        DEFAULT_CALL_TIMEOUT_MS,
      );
      const state = await waitPodStarted(this.kc, this.namespace, name, HELPER_START_MS, HELPER_CONTAINER);
      if (state !== 'running') throw new RuntimeCallError('helper', `pod ${name} is ${state}, not running`);
      return await use(name);
    } finally {
      // Also after a failure (a create that got no answer may still have made it).
      await this.deletePod(name).catch(() => undefined);
    }
  }

  /** `command` in the helper; resolves when it exited 0, else throws (RUNTIME_FAILED). */
  private async run(
    verb: string,
    session: ExecSession,
    input?: Readable,
  ): Promise<{ exitCode: number | null; stderrTail: string }> {
    // A stream that fails here ends the exec (the remote side would wait for more input).
    let inputError: Error | null = null;
    if (input) {
      input.on('error', (error) => {
        inputError = error;
        session.kill();
      });
      input.pipe(session.stdin);
    } else session.stdin.end();
    try {
      const end = await withTimeout(verb, session.done, COPY_TIMEOUT_MS);
      if (inputError) throw callError(verb, inputError);
      return end;
    } catch (error) {
      session.kill();
      throw error;
    }
  }

  private exec(helper: string, command: string[]): ExecSession {
    return podExec(this.kc, this.namespace, helper, command, HELPER_CONTAINER);
  }

  async load(ref: VolumeRef, tar: Readable, opts: VolumeOptions): Promise<void> {
    if (isRuntimeVolume(ref.volume)) {
      const marked = opts.markComplete ?? false;
      return loadConfigMap(this.core, this.namespace, ref.volume, tar, opts.labels, marked);
    }
    try {
      await this.createClaim(ref.volume, opts);
      await this.withHelper(ref, opts, async (helper) => {
        const session = this.exec(helper, loadCommand(this.path(ref), opts.markComplete ?? false));
        session.stdout.resume();
        const end = await this.run('load', session, tar);
        if (end.exitCode !== 0) throw failed('load', end);
      });
    } finally {
      // Whatever was not read of the stream (a failure before or during the copy) is dropped.
      if (!tar.readableEnded) tar.destroy();
    }
  }

  async save(ref: VolumeRef, opts: VolumeOptions): Promise<{ tar: Readable; done: Promise<void> }> {
    if (isRuntimeVolume(ref.volume)) {
      throw new RuntimeCallError('save', `${ref.volume} is a ConfigMap of runtime files, never copied back`);
    }
    const out = new PassThrough();
    const done = this.withHelper(ref, opts, async (helper) => {
      const session = this.exec(helper, saveCommand(this.path(ref)));
      session.stdout.pipe(out, { end: false });
      const end = await this.run('save', session);
      if (end.exitCode !== 0) throw failed('save', end);
      await new Promise<void>((resolve) => {
        if (session.stdout.readableEnded) resolve();
        else session.stdout.once('end', resolve);
      });
      out.end();
    });
    done.catch((error: unknown) => out.destroy(error as Error));
    return { tar: out, done };
  }

  async complete(ref: VolumeRef, opts: VolumeOptions): Promise<boolean> {
    if (isRuntimeVolume(ref.volume)) return configMapComplete(this.core, this.namespace, ref.volume);
    if (!(await this.claimExists(ref.volume))) return false;
    return this.withHelper(ref, opts, async (helper) => {
      const end = await this.run('complete', this.exec(helper, completeCommand(this.path(ref))));
      if (end.exitCode === 0) return true;
      if (end.exitCode === 1) return false;
      throw failed('complete', end);
    });
  }

  async remove(volume: string): Promise<void> {
    if (isRuntimeVolume(volume)) return removeConfigMap(this.core, this.namespace, volume);
    await withTimeout(
      'delete pvc',
      this.core
        .deleteNamespacedPersistentVolumeClaim({ name: volume, namespace: this.namespace })
        .catch((error: unknown) => {
          if (!isNotFound(error)) throw callError('delete pvc', error);
        }),
      DEFAULT_CALL_TIMEOUT_MS,
    );
  }
}

function failed(verb: string, end: { exitCode: number | null; stderrTail: string }): RuntimeCallError {
  const why = end.stderrTail.trim().split('\n').pop();
  return new RuntimeCallError(
    verb,
    why || (end.exitCode === null ? 'the exec gave no exit status' : `exit code ${end.exitCode}`),
    { exitCode: end.exitCode },
  );
}
