import { detectRuntime, type DetectedRuntime } from '../runtime/detect.js';
import type { ResolvedConfig } from '../shared/config.js';
import { ensureAgentImage } from './agent-image.js';
import { ensureBaseImage } from './base-image.js';
import { ensureDiskTools } from './disk-tools.js';
import { ensureRuntimeInstalled } from './install-runtime.js';
import { createProgress, type Progress } from './progress.js';

export interface SetupOptions {
  config: ResolvedConfig;
  /** Rebuild the agent image even when its hash label is current. */
  rebuild?: boolean;
  progress?: Progress;
}

export interface SetupResult {
  runtime: DetectedRuntime;
  base: string;
  image: string;
  seconds: number;
}

/**
 * Idempotent host setup: a container runtime (installed with apt when missing), an OCI runtime that
 * works here, a Debian base image (pulled or debootstrapped), then the agent image (built when
 * missing or stale). Each step is a no-op when already done, so a warm rerun takes about a second.
 */
export async function runSetup(opts: SetupOptions): Promise<SetupResult> {
  const progress = opts.progress ?? createProgress();
  const { config } = opts;
  await ensureRuntimeInstalled(config.runtime, progress);
  await ensureDiskTools(progress);
  const detect = (reprobe: boolean) =>
    progress.step('detect runtime', async () => {
      const rt = await detectRuntime({ runtime: config.runtime, ociRuntime: config.ociRuntime, reprobe });
      const oci =
        rt.kind === 'podman'
          ? `, OCI runtime ${rt.ociRuntime ?? 'default'}${rt.ociProbed ? ' (probed)' : ''}`
          : '';
      return {
        rt,
        detail: `${rt.kind} ${rt.version}${oci}, ${rt.rootless ? 'rootless' : 'rootful'}, cgroups ${rt.cgroupVersion}`,
      };
    });
  let { rt } = await detect(false);
  for (const note of rt.notes) progress.line(`note: ${note}`);
  const base = await ensureBaseImage(rt, progress);
  // With no image on a fresh host the OCI runtime could not be probed; now the base image exists.
  if (rt.kind === 'podman' && !rt.ociProbed && config.ociRuntime === 'auto') ({ rt } = await detect(true));
  await ensureAgentImage(rt, progress, { image: config.image, base, force: opts.rebuild ?? false });
  const seconds = progress.elapsed();
  progress.line(`done in ${seconds.toFixed(1)} s`);
  return { runtime: rt, base, image: config.image, seconds };
}
