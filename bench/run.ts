/**
 * `npm run bench` — proves (or not) the design: with one worker thread per job the host's event
 * loop stays free at high concurrency, measured side by side with the inline baseline.
 * Results: bench/results/latest.json and latest.md. Flags: see USAGE.
 */
import { runBench } from './bench.js';
import { parseArgs, USAGE } from './options.js';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const options = parseArgs(argv);
const started = Date.now();
const log = (line: string) => console.log(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
const results = await runBench(options, log);
for (const t of results.targets)
  log(`${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'} ${t.target}: ${t.measured}`);
log(`wrote ${options.outDir}/latest.json and latest.md`);
