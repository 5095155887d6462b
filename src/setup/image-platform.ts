/**
 * Which Node and Claude Code native packages go into the agent image: the host's own platform,
 * since the image is built natively (no emulation). container/build/versions.json pins the
 * versions with a `{platform}` placeholder; this resolves it to `linux-x64` or `linux-arm64`.
 */
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';

export type ImagePlatform = 'linux-x64' | 'linux-arm64';

export const PLATFORM_PLACEHOLDER = '{platform}';

const SUPPORTED: Record<string, ImagePlatform> = { x64: 'linux-x64', arm64: 'linux-arm64' };

/** The image platform for a Node `process.platform` / `process.arch` pair. */
export function imagePlatform(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): ImagePlatform {
  const chosen = platform === 'linux' ? SUPPORTED[arch] : undefined;
  if (!chosen) {
    throw new ClaudePodError(
      ErrorCodes.SETUP_FAILED,
      `claude-pod builds its agent image for linux-x64 and linux-arm64 hosts; this is ${platform}-${arch}. ` +
        'Fix: run claude-pod on a Linux x64 or arm64 host (or VM).',
      { details: { platform, arch } },
    );
  }
  return chosen;
}

/** Every pinned spec with `{platform}` replaced (specs without it are returned as they are). */
export function resolvePlatform<T extends Record<string, string>>(pinned: T, platform: ImagePlatform): T {
  return Object.fromEntries(
    Object.entries(pinned).map(([key, spec]) => [key, spec.replaceAll(PLATFORM_PLACEHOLDER, platform)]),
  ) as T;
}
