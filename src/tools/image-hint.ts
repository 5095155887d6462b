/**
 * What fixes a missing container image, for the image that is actually configured: the default
 * one is built by `claude-pod setup`; the seed plugin's `ghcr.io/…` image is not built for
 * claude-pod, so the fix is to drop the `image` key or to build ours under that name; any other
 * name can be pulled, or built from claude-pod's container/ folder by `setup --config`.
 */
import { DEFAULT_IMAGE } from '../shared/config.js';

/** The image the seed plugin's README configures. */
export const SEED_IMAGE = 'ghcr.io/13rac1/openclaw-claude-code:latest';

/**
 * The fix, as one sentence without a final period. `cli`: a person running claude-pod's CLI;
 * `gateway`: the operator of an OpenClaw gateway (the plugin's config lives in openclaw.json).
 */
export function imageFix(image: string, where: 'cli' | 'gateway'): string {
  const configFile = where === 'gateway' ? '~/.openclaw/openclaw.json' : 'FILE';
  const buildUnderName = `build claude-pod's image under that name: \`claude-pod setup --config ${configFile}\``;
  if (image === DEFAULT_IMAGE) {
    return where === 'gateway'
      ? `run \`claude-pod setup\` on the gateway host, as the user the gateway runs as (it builds ${DEFAULT_IMAGE})`
      : `run \`claude-pod setup\` (it builds ${DEFAULT_IMAGE})`;
  }
  const dropKey =
    where === 'gateway'
      ? `remove the "image" key from plugins.entries["claude-code"].config and restart the gateway (the default, ${DEFAULT_IMAGE}, is built by \`claude-pod setup\`)`
      : `remove "image" from the config (the default, ${DEFAULT_IMAGE}, is built by \`claude-pod setup\`)`;
  if (image === SEED_IMAGE) {
    return `${image} is the seed plugin's image and is not built for claude-pod: ${dropKey}, or ${buildUnderName}`;
  }
  return `pull ${image} (\`podman pull ${image}\`), or ${buildUnderName}, or ${dropKey}`;
}
