import { homedir } from 'node:os';
import { isAbsolute, join, resolve, dirname } from 'node:path';
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

/** Where the project keeps machine-local caches (built images' tarballs, Node 24, openclaw). */
export function cacheDir(): string {
  return process.env.CLAUDE_POD_CACHE_DIR ?? join(packageRoot, '.cache');
}
