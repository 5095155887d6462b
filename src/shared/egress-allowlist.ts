import { isIP } from 'node:net';

/**
 * `egressAllowlist` entries: `registry.npmjs.org`, `*.github.com` (subdomains, not the name
 * itself), `10.0.0.5`, `[::1]`, each optionally `:port`. Names are compared lower-case, without
 * a trailing dot. An address entry is the only way to let a connection reach a loopback,
 * link-local or private address (egress/address-policy.ts).
 */
export interface AllowlistEntry {
  /** The entry as written, for logs and messages. */
  text: string;
  kind: 'name' | 'suffix' | 'address';
  /** Lower-case name, suffix without `*.`, or the address (IPv6 without brackets). */
  value: string;
  /** null: any port. */
  port: number | null;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function validName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

/** The parsed entry, or a sentence saying what is wrong with it. */
export function parseAllowlistEntry(text: string): AllowlistEntry | string {
  const raw = text.trim();
  if (raw.length === 0) return 'an empty entry';
  let host = raw;
  let port: number | null = null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2] === undefined ? null : Number(bracketed[2]);
    if (isIP(host) !== 6) return `"${text}": not an IPv6 address in brackets`;
  } else if (isIP(raw) !== 6) {
    const colon = raw.lastIndexOf(':');
    if (colon !== -1) {
      host = raw.slice(0, colon);
      const p = raw.slice(colon + 1);
      if (!/^\d{1,5}$/.test(p)) return `"${text}": the port must be a number`;
      port = Number(p);
    }
  }
  if (port !== null && (port < 1 || port > 65535)) return `"${text}": the port must be 1-65535`;
  const value = normalizeHost(host);
  if (isIP(value) !== 0) return { text: raw, kind: 'address', value, port };
  if (value.startsWith('*.')) {
    const suffix = value.slice(2);
    if (!validName(suffix) || !suffix.includes('.'))
      return `"${text}": "*." must be followed by a domain with at least two labels`;
    return { text: raw, kind: 'suffix', value: suffix, port };
  }
  if (!validName(value)) return `"${text}": not a host name, "*.domain" or an IP address`;
  return { text: raw, kind: 'name', value, port };
}

export function parseAllowlist(entries: readonly string[]): AllowlistEntry[] {
  return entries.map((e) => {
    const parsed = parseAllowlistEntry(e);
    if (typeof parsed === 'string') throw new Error(`egressAllowlist: ${parsed}`);
    return parsed;
  });
}

const portMatches = (entry: AllowlistEntry, port: number): boolean =>
  entry.port === null || entry.port === port;

/** The first entry that lets `host:port` through by name (or by a literal address the client asked for). */
export function matchHost(
  list: readonly AllowlistEntry[],
  host: string,
  port: number,
): AllowlistEntry | null {
  const h = normalizeHost(host);
  for (const entry of list) {
    if (!portMatches(entry, port)) continue;
    if (entry.kind === 'name' && entry.value === h) return entry;
    if (entry.kind === 'suffix' && h.endsWith(`.${entry.value}`)) return entry;
    if (entry.kind === 'address' && entry.value === h) return entry;
  }
  return null;
}

/** Whether an address (as resolved) is listed itself, with a port that fits. */
export function addressListed(list: readonly AllowlistEntry[], address: string, port: number): boolean {
  const a = normalizeHost(address);
  return list.some((e) => e.kind === 'address' && e.value === a && portMatches(e, port));
}
