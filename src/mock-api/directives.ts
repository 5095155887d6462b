/**
 * `[[mock:NAME key=value key2="quoted value"]]` inside a prompt picks the scenario for that job,
 * so one mock server can serve many jobs differently. Quoted values understand \" \\ \n \t.
 */
export interface Directive {
  name: string;
  params: Record<string, string>;
}

const DIRECTIVE = /\[\[mock:([a-z0-9][a-z0-9-]*)((?:[^\]"']|"(?:[^"\\]|\\.)*"|'[^']*'|\](?!\]))*)\]\]/i;
const PARAM = /([A-Za-z_][\w-]*)=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+))/g;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t' };

function unescape(value: string): string {
  return value.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c);
}

/** The first directive in `text`, or null. */
export function parseDirective(text: string): Directive | null {
  const match = DIRECTIVE.exec(text);
  if (!match?.[1]) return null;
  const params: Record<string, string> = {};
  for (const p of (match[2] ?? '').matchAll(PARAM)) {
    const key = p[1] as string;
    params[key] = p[2] !== undefined ? unescape(p[2]) : (p[3] ?? p[4] ?? '');
  }
  return { name: match[1].toLowerCase(), params };
}

/** `text` without any directive, trimmed. */
export function stripDirectives(text: string): string {
  return text.replace(new RegExp(DIRECTIVE.source, 'gi'), '').trim();
}

/** Builds the directive text for a scenario (the inverse of `parseDirective`), for tests and the demo. */
export function formatDirective(name: string, params: Record<string, string | number> = {}): string {
  const parts = Object.entries(params).map(([k, v]) => {
    const s = String(v);
    return /^[^\s"'\]\\]+$/.test(s)
      ? `${k}=${s}`
      : `${k}="${s.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
  });
  return `[[mock:${[name, ...parts].join(' ')}]]`;
}
