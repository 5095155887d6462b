import { isIP } from 'node:net';
import { normalizeHost } from '../../shared/egress-allowlist.js';

export interface EgressTarget {
  host: string;
  port: number;
}

const HOST = /^[A-Za-z0-9._-]{1,253}$/;

/** `host:port` of a CONNECT (port required), or null when it is not one. */
export function parseAuthority(authority: string | undefined): EgressTarget | null {
  if (!authority) return null;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  if (!m?.[1] || !m[2]) return null;
  return checked(m[1], Number(m[2]));
}

/** Host and port of an absolute-form `http://` request URL, or null. */
export function parseAbsoluteUrl(raw: string | undefined): (EgressTarget & { path: string }) | null {
  if (!raw || !/^http:\/\//i.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  const target = checked(url.hostname, url.port ? Number(url.port) : 80);
  return target ? { ...target, path: `${url.pathname}${url.search}` } : null;
}

function checked(rawHost: string, port: number): EgressTarget | null {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  const host = normalizeHost(rawHost);
  if (isIP(host) === 0 && !HOST.test(host)) return null;
  return { host, port };
}
