/**
 * One load scenario in a process of its own (bench/scenarios/rss.ts starts it, on Node 20 or 24):
 * its RSS baseline is a fresh supervisor's, not one left by earlier scenarios.
 *   node --import tsx bench/rss-child.ts '<LoadScenario as JSON>'
 * Prints `RESULT <LoadResult as JSON>` as its last line.
 */
import { loadImpl } from './impl.js';
import { runLoadScenario, type LoadScenario } from './scenarios/load.js';

const scenario = JSON.parse(process.argv[2] ?? '{}') as LoadScenario;
const result = await runLoadScenario(await loadImpl('dist'), scenario);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
