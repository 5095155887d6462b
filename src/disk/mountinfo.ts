import { readFile, realpath } from 'node:fs/promises';
import { basename } from 'node:path';

/** One line of /proc/self/mountinfo, the fields we use. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) continue;
    entries.push({
      mountPoint: unescape(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescape(fields[dash + 2]!),
    });
  }
  return entries;
}

/** The filesystem mounted at exactly `path` (the topmost one), or null. */
export async function mountAt(path: string, mountinfo = '/proc/self/mountinfo'): Promise<MountEntry | null> {
  const entries = parseMountinfo(await readFile(mountinfo, 'utf8'));
  const at = entries.filter((e) => e.mountPoint === path);
  return at[at.length - 1] ?? null;
}

/** The file behind a loop device (`/dev/loop3`), or null when it is not a loop device. */
export async function loopBackingFile(device: string, sysBlock = '/sys/block'): Promise<string | null> {
  if (!/^\/dev\/loop\d+$/.test(device)) return null;
  try {
    const file = (await readFile(`${sysBlock}/${basename(device)}/loop/backing_file`, 'utf8')).trim();
    // The kernel appends " (deleted)" once the file is unlinked.
    return file.endsWith(' (deleted)') ? null : await realpath(file).catch(() => file);
  } catch {
    return null;
  }
}
