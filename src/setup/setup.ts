import { detectRuntime, findExecutable, type DetectedRuntime } from '../runtime/detect.js';
import type { RuntimeKind } from '../runtime/runtime-info.js';
import type { ResolvedConfig } from '../shared/config.js';
import { clientOf, ensureAgentImage } from './agent-image.js';
import { ensureBaseImage } from './base-image.js';
import { ensureDiskTools } from './disk-tools.js';
import { ensureDockerEngine } from './docker-engine.js';
import { copyImage } from './image-transfer.js';
import { ensurePodmanInstalled } from './install-runtime.js';
import { createProgress, type Progress } from './progress.js';
import { prepareRootlessPodman } from './rootless-podman.js';

export interface SetupOptions {
  config: ResolvedConfig;
  /** Rebuild the agent image even when its hash label is current. */
  rebuild?: boolean;
  progress?: Progress;
}

export interface SetupResult {
  runtime: DetectedRuntime;
  image: string;
  seconds: number;
}

/**
 * Idempotent host setup. Podman is installed (apt) when missing: it runs the jobs, and it builds
 * the agent image for every engine. Run as a non-root user, rootless podman is prepared for that
 * user (or setup says what root must do). With `"runtime": "docker"`, Docker Engine is installed
 * and started too, and the image podman built is copied into it. Then: an OCI runtime that works
 * here, the agent image (built only when missing or stale; only a build needs the Debian base
 * image). Each step is a no-op when already done, so a warm rerun takes about a second.
 */
export async function runSetup(opts: SetupOptions): Promise<SetupResult> {
  const progress = opts.progress ?? createProgress();
  const { config } = opts;
  await ensurePodmanInstalled(progress);
  await ensureDiskTools(progress);
  if (config.runtime === 'docker') await progress.step('docker engine', () => ensureDockerEngine(config));
  const rootless = process.getuid?.() !== 0;
  const detect = (kind: RuntimeKind, reprobe: boolean) =>
    progress.step(`detect ${kind}`, async () => {
      const rt = await detectRuntime({ runtime: kind, ociRuntime: config.ociRuntime, reprobe });
      const oci =
        rt.kind === 'podman'
          ? `, OCI runtime ${rt.ociRuntime ?? 'default'}${rt.ociProbed ? ' (probed)' : ''}`
          : '';
      return {
        rt,
        detail: `${rt.kind} ${rt.version}${oci}, ${rt.rootless ? 'rootless' : 'rootful'}, cgroups ${rt.cgroupVersion}`,
      };
    });
  const podman = await findExecutable('podman');
  if (rootless && podman) {
    // Before anything runs a container: storage is only switched to overlay while still empty.
    const prepared = await progress.step('rootless podman', () => prepareRootlessPodman(podman));
    for (const note of prepared.notes) progress.line(`note: ${note}`);
  }
  let { rt: builder } = await detect('podman', false);
  for (const note of builder.notes) progress.line(`note: ${note}`);
  let baseReady: Promise<string> | null = null;
  const base = () => (baseReady ??= ensureBaseImage(builder, progress));
  await ensureAgentImage(builder, progress, { image: config.image, base, force: opts.rebuild ?? false });
  // With no image on a fresh host the OCI runtime could not be probed; now an image exists.
  if (builder.kind === 'podman' && !builder.ociProbed && config.ociRuntime === 'auto') {
    ({ rt: builder } = await detect('podman', true));
  }
  let runtime = builder;
  if (config.runtime === 'docker') {
    ({ rt: runtime } = await detect('docker', false));
    const docker = runtime;
    await progress.step('image into docker', async () => {
      const copied = await copyImage(clientOf(builder), clientOf(docker), config.image);
      return {
        detail: copied.copied
          ? `copied ${config.image} from podman (${copied.seconds.toFixed(1)} s)`
          : `${config.image} current (${copied.hash.slice(0, 12)})`,
      };
    });
  }
  const seconds = progress.elapsed();
  progress.line(`done in ${seconds.toFixed(1)} s`);
  return { runtime, image: config.image, seconds };
}
