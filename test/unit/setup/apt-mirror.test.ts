import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { debianMirrorFrom, FALLBACK_MIRROR, hostDebianMirror } from '../../../src/setup/apt-mirror.js';

const DEB822 = `Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
# a comment
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main
`;

describe('debianMirrorFrom', () => {
  it('reads deb822 .sources and skips the security suite', () => {
    expect(debianMirrorFrom([{ path: '/etc/apt/sources.list.d/debian.sources', text: DEB822 }])).toBe(
      'http://mirror.example.org/debian',
    );
  });

  it('reads one-line .list entries with options and comments', () => {
    const text = [
      '# deb http://old.example.org/debian bookworm main',
      'deb-src http://src.example.org/debian bookworm main',
      'deb [arch=amd64 signed-by=/k.gpg] http://ftp.example.org/debian bookworm main contrib',
    ].join('\n');
    expect(debianMirrorFrom([{ path: '/etc/apt/sources.list', text }])).toBe('http://ftp.example.org/debian');
  });

  it('ignores disabled stanzas, other suites and non-http transports', () => {
    const text =
      'Enabled: no\nTypes: deb\nURIs: http://a.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: cdrom:/x\nSuites: bookworm\n';
    expect(debianMirrorFrom([{ path: 'x.sources', text }])).toBeNull();
    expect(
      debianMirrorFrom([{ path: 'x.list', text: 'deb http://a.example/debian bullseye main' }]),
    ).toBeNull();
  });

  it('falls back to deb.debian.org when apt has no usable source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'apt-'));
    await mkdir(join(dir, 'sources.list.d'));
    await writeFile(
      join(dir, 'sources.list.d', 'other.list'),
      'deb https://packages.example.com/apt stable main\n',
    );
    expect(await hostDebianMirror(dir)).toBe(FALLBACK_MIRROR);
    await writeFile(join(dir, 'sources.list.d', 'debian.sources'), DEB822);
    expect(await hostDebianMirror(dir)).toBe('http://mirror.example.org/debian');
  });
});
