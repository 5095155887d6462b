import { describe, expect, it } from 'vitest';
import { cacheDir } from '../../../src/shared/paths.js';

describe('cacheDir', () => {
  it('a checkout keeps its caches in .cache/', () => {
    expect(cacheDir({}, '/src/claude-pod', '/home/u')).toBe('/src/claude-pod/.cache');
  });

  it('an installed package (under node_modules) uses the user cache, not its own folder', () => {
    expect(cacheDir({}, '/usr/lib/node_modules/claude-pod', '/home/u')).toBe('/home/u/.cache/claude-pod');
    expect(cacheDir({ XDG_CACHE_HOME: '/var/cache/u' }, '/usr/lib/node_modules/claude-pod', '/home/u')).toBe(
      '/var/cache/u/claude-pod',
    );
  });

  it('CLAUDE_POD_CACHE_DIR wins', () => {
    expect(cacheDir({ CLAUDE_POD_CACHE_DIR: '/c' }, '/usr/lib/node_modules/claude-pod', '/home/u')).toBe(
      '/c',
    );
  });
});
