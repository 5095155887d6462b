/**
 * Which requests may reach the model API. The path is split into segments, each one decoded
 * (`%2e`, `%2F`…) and refused when it is empty, `.` or `..`, or decodes to anything with a
 * separator, a `%`, a NUL or a control character; the rules then compare segment by segment, and
 * what goes upstream is rebuilt from the checked segments, never the raw text.
 */
export interface Route {
  /** The path to forward (segments re-encoded), with the checked query. */
  path: string;
  /** For logs: the rule's name, e.g. `messages`. */
  name: string;
}

type Segment = string | RegExp;

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

const RULES: ReadonlyArray<{ name: string; method: string; segments: readonly Segment[] }> = [
  { name: 'messages', method: 'POST', segments: ['v1', 'messages'] },
  { name: 'count_tokens', method: 'POST', segments: ['v1', 'messages', 'count_tokens'] },
  { name: 'models', method: 'GET', segments: ['v1', 'models'] },
  { name: 'model', method: 'GET', segments: ['v1', 'models', MODEL_ID] },
];

/** Query strings Claude Code and the SDK send (`beta=true`, `limit=20`, `after_id=…`): plain characters only. */
const SAFE_QUERY = /^[A-Za-z0-9._~\-=&+,:]{0,512}$/;
/** The characters RFC 3986 allows in a path segment (pchar); anything else is refused before decoding. */
const RAW_SEGMENT = /^[A-Za-z0-9._~!$&'()*+,;=:@%-]{1,256}$/;
// eslint-disable-next-line no-control-regex
const BAD_DECODED = /[/\\%\u0000-\u001f\u007f]/;

/** One segment decoded, or null when it is not an acceptable name. */
export function decodeSegment(raw: string): string | null {
  if (!RAW_SEGMENT.test(raw)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (decoded.length === 0 || decoded === '.' || decoded === '..' || BAD_DECODED.test(decoded)) return null;
  return decoded;
}

/** The decoded segments of an origin-form path, or null when any segment is refused. */
export function pathSegments(path: string): string[] | null {
  if (!path.startsWith('/')) return null;
  const out: string[] = [];
  for (const raw of path.slice(1).split('/')) {
    const decoded = decodeSegment(raw);
    if (decoded === null) return null;
    out.push(decoded);
  }
  return out;
}

export function matchRoute(method: string | undefined, rawUrl: string | undefined): Route | null {
  if (!method || !rawUrl || rawUrl.includes('#')) return null;
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? null : rawUrl.slice(q + 1);
  if (query !== null && !SAFE_QUERY.test(query)) return null;
  const segments = pathSegments(path);
  if (!segments) return null;
  const rule = RULES.find(
    (r) =>
      r.method === method &&
      r.segments.length === segments.length &&
      r.segments.every((want, i) => {
        const got = segments[i] as string;
        return typeof want === 'string' ? want === got : want.test(got);
      }),
  );
  if (!rule) return null;
  const canonical = `/${segments.map(encodeURIComponent).join('/')}`;
  return { name: rule.name, path: query === null ? canonical : `${canonical}?${query}` };
}

export function isAllowed(method: string | undefined, rawUrl: string | undefined): boolean {
  return matchRoute(method, rawUrl) !== null;
}
