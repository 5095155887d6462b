import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { execa } from 'execa';
import type { RuntimeSpec } from '../shared/protocol.js';
import { clientEnv } from './cli-engine.js';
import { DEFAULT_CALL_TIMEOUT_MS, RuntimeCallError } from './engine.js';
import { LABEL_MANAGED } from './labels.js';
import { CONTAINER_GID, CONTAINER_UID } from './workspace-tar.js';
import type { VolumeOptions, VolumeRef, VolumeStore } from './volumes.js';

/**
 * Where a helper container mounts the volume it copies into or out of: the image's /workspace,
 * an empty directory of the container user. A new volume takes its owner from the directory it is
 * first mounted on (Docker's copy-up); on a path the image lacks it would stay root's, and the
 * job's user could not write in it.
 */
const HELPER_MOUNT = '/workspace';
export const COMPLETE_MARKER = '.claude-pod-complete';
export const LABEL_HELPER = 'io.claude-pod.helper';
/** Copies of large workspaces take a while; a call that transfers nothing for this long failed. */
const COPY_TIMEOUT_MS = 10 * 60_000;
const NO_SUCH_VOLUME = /no such volume|volume not found|no volume with name/i;

/**
 * Volumes of a podman or Docker engine through its CLI client (which may be remote). Data moves
 * as tar streams through `cp` into or out of a helper container that is created, never started,
 * with the volume mounted, and removed again: the engine's own API, nothing on its host to
 * install. Helpers carry `io.claude-pod.helper`, not the owner label, so recovery never takes
 * one for a job's container; a crashed copy's helper is reaped by that label.
 */
export class CliVolumeStore implements VolumeStore {
  constructor(private readonly rt: RuntimeSpec) {}

  private async call(verb: string, args: string[], input?: Readable, timeoutMs = DEFAULT_CALL_TIMEOUT_MS) {
    const r = await execa(this.rt.command, [...this.rt.globalArgs, ...args], {
      reject: false,
      ...(input ? { input } : { stdin: 'ignore' as const }),
      timeout: timeoutMs,
      env: clientEnv(this.rt),
      extendEnv: false,
    });
    if (r.timedOut) throw new RuntimeCallError(verb, `no answer within ${timeoutMs} ms`, { timedOut: true });
    if (r.exitCode === undefined) throw new RuntimeCallError(verb, String(r.shortMessage), { spawn: true });
    return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  private async must(verb: string, args: string[], input?: Readable, timeoutMs?: number): Promise<string> {
    const r = await this.call(verb, args, input, timeoutMs);
    if (r.exitCode !== 0) {
      throw new RuntimeCallError(verb, r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`);
    }
    return r.stdout;
  }

  private async createVolume(volume: string, opts: VolumeOptions): Promise<void> {
    const labels = Object.entries(opts.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const r = await this.call('volume create', ['volume', 'create', ...labels, volume]);
    if (r.exitCode !== 0 && !/already exists/i.test(r.stderr)) {
      throw new RuntimeCallError('volume create', r.stderr.trim() || `exit code ${r.exitCode}`);
    }
  }

  /** A stopped helper with the volume mounted; `use` runs with its name; it is removed after. */
  private async withHelper<T>(
    ref: VolumeRef,
    opts: VolumeOptions,
    use: (name: string) => Promise<T>,
  ): Promise<T> {
    const name = `claude-pod-helper-${randomBytes(6).toString('hex')}`;
    await this.must('create', [
      'create',
      '--name',
      name,
      '--label',
      `${LABEL_MANAGED}=true`,
      '--label',
      `${LABEL_HELPER}=${opts.labels['io.claude-pod.owner'] ?? 'any'}`,
      '--user',
      `${CONTAINER_UID}:${CONTAINER_GID}`,
      '--network',
      'none',
      '--pull=never',
      '--volume',
      `${ref.volume}:${HELPER_MOUNT}`,
      '--entrypoint',
      'true',
      opts.image,
    ]);
    try {
      return await use(name);
    } finally {
      await this.call('rm', ['rm', '-f', name]).catch(() => undefined);
    }
  }

  private path(ref: VolumeRef, file = ''): string {
    return [HELPER_MOUNT, ref.subPath, file].filter(Boolean).join('/');
  }

  async load(ref: VolumeRef, tar: Readable, opts: VolumeOptions): Promise<void> {
    // Replace, not merge: files deleted on this side must be gone there too.
    await this.remove(ref.volume);
    await this.createVolume(ref.volume, opts);
    await this.withHelper(ref, opts, async (helper) => {
      await this.must('cp', ['cp', '-', `${helper}:${this.path(ref)}`], tar, COPY_TIMEOUT_MS);
      if (opts.markComplete) {
        await this.must('cp', ['cp', '-', `${helper}:${this.path(ref)}`], markerTar(), COPY_TIMEOUT_MS);
      }
    });
  }

  async save(ref: VolumeRef, opts: VolumeOptions): Promise<{ tar: Readable; done: Promise<void> }> {
    const out = new PassThrough();
    const done = this.withHelper(ref, opts, async (helper) => {
      const child = execa(
        this.rt.command,
        [...this.rt.globalArgs, 'cp', `${helper}:${this.path(ref)}/.`, '-'],
        {
          reject: false,
          stdin: 'ignore',
          buffer: { stdout: false, stderr: true },
          encoding: 'buffer',
          timeout: COPY_TIMEOUT_MS,
          env: clientEnv(this.rt),
          extendEnv: false,
        },
      );
      child.stdout?.pipe(out);
      const r = await child;
      if (r.exitCode !== 0) {
        const why = Buffer.from(r.stderr as Uint8Array)
          .toString('utf8')
          .trim()
          .split('\n')
          .pop();
        const error = new RuntimeCallError('cp', why || `exit code ${r.exitCode}`, { timedOut: r.timedOut });
        out.destroy(error);
        throw error;
      }
    });
    done.catch((error: unknown) => out.destroy(error as Error));
    return { tar: out, done };
  }

  async complete(ref: VolumeRef, opts: VolumeOptions): Promise<boolean> {
    const r = await this.call('volume inspect', ['volume', 'inspect', ref.volume]);
    if (r.exitCode !== 0) {
      if (NO_SUCH_VOLUME.test(r.stderr)) return false;
      throw new RuntimeCallError('volume inspect', r.stderr.trim() || `exit code ${r.exitCode}`);
    }
    return this.withHelper(ref, opts, async (helper) => {
      const cp = await this.call('cp', ['cp', `${helper}:${this.path(ref, COMPLETE_MARKER)}`, '-']);
      if (cp.exitCode === 0) return true;
      if (/no such file|could not find|not found/i.test(cp.stderr)) return false;
      throw new RuntimeCallError('cp', cp.stderr.trim() || `exit code ${cp.exitCode}`);
    });
  }

  /** Never `-f`: podman's would remove the containers using the volume. One in use stays (error). */
  async remove(volume: string): Promise<void> {
    const r = await this.call('volume rm', ['volume', 'rm', volume]);
    if (r.exitCode === 0 || NO_SUCH_VOLUME.test(r.stderr)) return;
    throw new RuntimeCallError('volume rm', r.stderr.trim() || `exit code ${r.exitCode}`);
  }
}

/** A tar holding only the completion marker (one 512-byte header, the data, two zero blocks). */
function markerTar(): Readable {
  const header = Buffer.alloc(512);
  const put = (text: string, at: number, len: number) => header.write(text.slice(0, len), at, 'ascii');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
  const data = Buffer.from('ok\n');
  put(COMPLETE_MARKER, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(CONTAINER_UID, 8), 108, 8);
  put(octal(CONTAINER_GID, 8), 116, 8);
  put(octal(data.length, 12), 124, 12);
  put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
  header.fill(' ', 148, 156);
  put('0', 156, 1);
  put('ustar', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${octal(sum, 7)}\0`, 148, 8);
  const pad = Buffer.alloc(512 - (data.length % 512));
  return Readable.from([header, data, pad, Buffer.alloc(1024)]);
}
