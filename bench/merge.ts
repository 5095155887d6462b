/**
 * Reruns into the last full run: `tsx bench/merge.ts <other latest.json>…` takes the load
 * scenarios of another run (`npm run bench -- --only NAME --out DIR`, e.g. a scenario that a busy
 * host disturbed) into bench/results/latest.json — a row with the same name is replaced, a new one
 * added — notes each in `meta.merged` with its run's date and load average, and renders latest.md
 * and the targets again.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResults } from './bench.js';
import { renderMarkdown } from './report/markdown.js';
import { evaluateTargets } from './report/targets.js';
import type { LoadResult } from './scenarios/load.js';

const dir = 'bench/results';
const base = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as BenchResults;
base.meta.merged ??= [];
for (const file of process.argv.slice(2)) {
  const other = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
  for (const key of ['load', 'sweep', 'sessions'] as const) {
    for (const row of other[key] ?? []) {
      const rows: LoadResult[] = base[key];
      const at = rows.findIndex((x) => x.name === row.name);
      if (at >= 0) rows[at] = row;
      else rows.push(row);
      base.meta.merged.push({ name: row.name, date: other.meta.date, loadAverage: other.loadAverage });
    }
  }
}
base.targets = evaluateTargets(base);
await writeFile(join(dir, 'latest.json'), `${JSON.stringify(base, null, 2)}\n`);
await writeFile(join(dir, 'latest.md'), renderMarkdown(base));
console.log(`merged ${base.meta.merged.length} rows into ${dir}/latest.json and latest.md`);
