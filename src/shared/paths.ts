import { homedir } from 'node:os';
import { isAbsolute, join, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Expands a leading `~` the way a shell would, then makes the path absolute. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : resolve(path);
}

/** The package root (holds package.json and container/), from src/ or dist/ alike. */
export const packageRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const containerDir: string = join(packageRoot, 'container');

/**
 * Where claude-pod keeps machine-local caches (the image build context, the OCI runtime probe):
 * `.cache/` in a checkout; installed as a package (under node_modules, often not writable by
 * the user running it) `$XDG_CACHE_HOME/claude-pod`, i.e. `~/.cache/claude-pod`.
 * CLAUDE_POD_CACHE_DIR overrides both.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, root = packageRoot, home = homedir()): string {
  if (env.CLAUDE_POD_CACHE_DIR) return env.CLAUDE_POD_CACHE_DIR;
  if (!root.split(sep).includes('node_modules')) return join(root, '.cache');
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'claude-pod');
}
