/**
 * A parsed stream line → the lines a person sees: one line per tool call (name and key
 * argument), Claude's text as written, failed tool results, notes. Everything that came from
 * the container is sanitised here; nothing else in the view prints container text. Pure.
 */
import type { Colors } from './colors.js';
import { sanitizeLine, sanitizeText, truncate } from './sanitize.js';
import type { StreamLine } from './stream-line.js';

export interface RenderOptions {
  colors: Colors;
  /** Terminal columns: tool-call and error lines are cut to fit. null: no limit (piped). */
  width: number | null;
}

const fit = (text: string, width: number | null, used: number) =>
  width === null ? text : truncate(text, Math.max(8, width - used));

export function renderStreamLine(line: StreamLine, { colors: c, width }: RenderOptions): string[] {
  switch (line.kind) {
    case 'init': {
      const parts = [
        line.claudeVersion ? `Claude Code ${sanitizeLine(line.claudeVersion)}` : 'Claude Code',
        line.model ? sanitizeLine(line.model) : null,
        line.cwd ? sanitizeLine(line.cwd) : null,
      ].filter(Boolean);
      return [c.dim(`● ${parts.join(' · ')}`)];
    }
    case 'assistant': {
      const sub = line.parentToolUseId !== null;
      const indent = sub ? '    ' : '';
      const out: string[] = [];
      for (const block of line.blocks) {
        if (block.kind === 'text') {
          const text = sanitizeText(block.text).replace(/\s+$/, '');
          if (text) out.push(...text.split('\n').map((l) => indent + (sub ? c.dim(l) : l)));
        } else if (block.kind === 'tool') {
          const arrow = sub ? '  ↳' : '→';
          const name = sanitizeLine(block.name);
          const used = arrow.length + 1 + name.length + 1;
          const detail = block.detail ? ` ${fit(block.detail, width, used)}` : '';
          out.push(`${c.cyan(arrow)} ${c.bold(name)}${detail}`);
        }
      }
      return out;
    }
    case 'tool-results':
      return line.results
        .filter((r) => r.isError)
        .map((r) => {
          const first = sanitizeLine(r.text.split('\n').find((l) => l.trim()) ?? 'failed');
          return c.red(`  ✗ ${fit(first, width, 4)}`);
        });
    case 'note': {
      const text = sanitizeLine(line.text);
      return text ? [c.dim(`│ ${fit(text, width, 2)}`)] : [];
    }
    case 'result':
    case 'system':
    case 'ignored':
      return [];
  }
}
