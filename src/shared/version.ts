import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

let cached: string | null = null;

/** claude-pod's own version, from its package.json. */
export function packageVersion(): string {
  if (cached === null) {
    try {
      cached = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
