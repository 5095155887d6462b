/**
 * A borderless table, columns padded to their widest cell (colour codes do not count). Cells are
 * ids, numbers and short words, so a character is a column; no library needed. Pure.
 */
import { stripVTControlCharacters } from 'node:util';

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

const visible = (cell: string) => Array.from(stripVTControlCharacters(cell)).length;

export function formatTable(
  columns: Column[],
  rows: string[][],
  header: (s: string) => string = (s) => s,
): string[] {
  const widths = columns.map((col, i) =>
    Math.max(col.header.length, ...rows.map((r) => visible(r[i] ?? ''))),
  );
  const pad = (cell: string, i: number) => {
    const gap = ' '.repeat(Math.max(0, widths[i]! - visible(cell)));
    return columns[i]!.align === 'right' ? gap + cell : cell + gap;
  };
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => pad(cell, i))
      .join('  ')
      .trimEnd();
  return [header(line(columns.map((c) => c.header))), ...rows.map(line)];
}
