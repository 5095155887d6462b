import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const FALLBACK_MIRROR = 'http://deb.debian.org/debian';

export interface SourceFile {
  path: string;
  text: string;
}

/**
 * The Debian archive mirror apt uses on this host: the first `deb` source (one-line `.list` or
 * deb822 `.sources`) that serves the given release's main suite, e.g. `http://deb.debian.org/debian`.
 * Security and third-party repositories do not qualify. Null when none does.
 */
export function debianMirrorFrom(files: SourceFile[], suite = 'bookworm'): string | null {
  for (const file of files) {
    if (file.path.endsWith('.sources')) {
      for (const stanza of file.text.split(/\n\s*\n/)) {
        const fields = new Map<string, string>();
        for (const line of stanza.split('\n')) {
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
          if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
        }
        if (fields.get('enabled')?.toLowerCase() === 'no') continue;
        if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
        if (!(fields.get('suites') ?? '').split(/\s+/).includes(suite)) continue;
        const uri = (fields.get('uris') ?? '').split(/\s+/).find((u) => /^https?:\/\//.test(u));
        if (uri) return uri.replace(/\/+$/, '');
      }
    } else {
      for (const raw of file.text.split('\n')) {
        const line = raw.replace(/#.*$/, '').trim();
        // deb [options] uri suite components…
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m?.[1] && m[2] === suite && /^https?:\/\//.test(m[1])) return m[1].replace(/\/+$/, '');
      }
    }
  }
  return null;
}

/** Reads apt's sources (read-only; /etc is never edited) and returns the mirror, or the fallback. */
export async function hostDebianMirror(etcApt = '/etc/apt', suite = 'bookworm'): Promise<string> {
  const files: SourceFile[] = [];
  const tryRead = async (path: string) => {
    try {
      files.push({ path, text: await readFile(path, 'utf8') });
    } catch {
      // absent
    }
  };
  await tryRead(join(etcApt, 'sources.list'));
  try {
    const names = (await readdir(join(etcApt, 'sources.list.d'))).sort();
    for (const name of names) {
      if (name.endsWith('.list') || name.endsWith('.sources'))
        await tryRead(join(etcApt, 'sources.list.d', name));
    }
  } catch {
    // no sources.list.d
  }
  return debianMirrorFrom(files, suite) ?? FALLBACK_MIRROR;
}
