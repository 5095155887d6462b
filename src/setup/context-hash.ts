import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { imagePlatform, resolvePlatform, type ImagePlatform } from './image-platform.js';

/** Pinned versions of what goes into the agent image (container/build/versions.json). */
export interface ImageVersions extends Record<string, string> {
  node: string;
  npm: string;
  claudeCode: string;
  claudeCodeNative: string;
  go: string;
  tinygo: string;
}

export const CONTEXT_HASH_LABEL = 'io.claude-pod.context-hash';

/**
 * Folders of container/ that are not baked into the image: runtime/ is bind-mounted at
 * /opt/claude-pod when a job runs, so editing it must not trigger a rebuild.
 */
const NOT_IN_IMAGE = new Set(['runtime']);

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (dir === root && NOT_IN_IMAGE.has(entry.name)) continue;
    if (entry.isDirectory()) out.push(...(await listFiles(root, full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/**
 * sha256 over every file of container/ that goes into the image (path and content, in a stable
 * order), the pinned versions and the base image name. Equal hash = the existing image is current.
 */
export async function computeContextHash(
  containerDir: string,
  versions: ImageVersions,
  base: string,
): Promise<string> {
  const hash = createHash('sha256');
  const files = (await listFiles(containerDir))
    .map((f) => relative(containerDir, f).split(sep).join('/'))
    .sort();
  for (const file of files) {
    hash.update(`file ${file}\n`);
    hash.update(await readFile(join(containerDir, file)));
    hash.update('\n');
  }
  const sortedVersions = Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b)));
  hash.update(`versions ${JSON.stringify(sortedVersions)}\n`);
  hash.update(`base ${base}\n`);
  return hash.digest('hex');
}

/**
 * The pinned versions for an image of `platform` (default: this host's), `{platform}` resolved —
 * so setup packs, and doctor hashes, the packages of the architecture the image is built for.
 */
export async function readImageVersions(
  containerDir: string,
  platform: ImagePlatform = imagePlatform(),
): Promise<ImageVersions> {
  const pinned = JSON.parse(
    await readFile(join(containerDir, 'build', 'versions.json'), 'utf8'),
  ) as ImageVersions;
  return resolvePlatform(pinned, platform);
}

/** `name@1.2.3` or `@scope/name@1.2.3` → the file name `npm pack` writes for it. */
export function packFileName(spec: string): string {
  const at = spec.lastIndexOf('@');
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}
