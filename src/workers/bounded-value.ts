/**
 * Bounded copies of values taken from a container's stream-json. Whatever the container prints,
 * the report built from it — posted to the main thread and persisted in registry.json — stays
 * small: strings are cut, objects and arrays are pruned, and every kept string is a fresh copy
 * (a short slice of a parsed multi-MiB string would otherwise keep the whole of it alive).
 */

/** A fresh, flat copy of `text`: it shares no memory with the string it came from. */
function detached(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** The first `max` UTF-16 code units of `text`, without a lone high surrogate at the end. */
function head(text: string, max: number): string {
  let end = Math.min(max, text.length);
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/**
 * `text` cut to at most `max` characters (UTF-16 code units). A cut text ends with `suffix(n)`
 * (n: the original length), within the same bound.
 */
export function boundedString(
  text: string,
  max: number,
  suffix: (length: number) => string = () => '…',
): string {
  if (text.length <= max) return detached(text);
  const tail = suffix(text.length);
  const cut = tail.length >= max ? head(tail, max) : head(text, max - tail.length) + tail;
  return detached(cut);
}

export interface JsonBounds {
  /** Budget for the whole copy, in characters of its JSON (approximately: strings count raw). */
  maxChars: number;
  /** Nesting kept: deeper objects and arrays are dropped. */
  maxDepth: number;
  /** Longest string value or key kept (longer values are cut, longer keys dropped). */
  maxString: number;
}

const NUMBER_CHARS = 24;

/**
 * A copy of a JSON value within `bounds`: entries are kept in order while the budget lasts;
 * what does not fit is left out (so the copy is always valid JSON of the same shape).
 */
export function boundedJson(value: unknown, bounds: JsonBounds): unknown {
  const budget = { left: bounds.maxChars };
  return copy(value, bounds, 0, budget);
}

function copy(value: unknown, bounds: JsonBounds, depth: number, budget: { left: number }): unknown {
  if (value === null || typeof value === 'boolean') {
    budget.left -= 5;
    return value;
  }
  if (typeof value === 'number') {
    budget.left -= NUMBER_CHARS;
    return Number.isFinite(value) ? value : null;
  }
  if (typeof value === 'string') {
    const kept = boundedString(value, bounds.maxString);
    budget.left -= kept.length + 2;
    return kept;
  }
  if (typeof value !== 'object' || depth >= bounds.maxDepth) return undefined;
  budget.left -= 2;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      if (budget.left <= 0) break;
      const kept = copy(item, bounds, depth + 1, budget);
      if (kept !== undefined && budget.left >= 0) out.push(kept);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  // for…in stops early: a parsed object with very many keys is never listed whole.
  for (const key in value) {
    if (budget.left <= 0) break;
    if (!Object.hasOwn(value, key) || key.length > bounds.maxString || key === '__proto__') continue;
    budget.left -= key.length + 4;
    const kept = copy((value as Record<string, unknown>)[key], bounds, depth + 1, budget);
    if (kept !== undefined && budget.left >= 0) out[detached(key)] = kept;
  }
  return out;
}
