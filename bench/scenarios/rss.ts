/**
 * Host memory per running job: the realistic Claude load in a fresh process per run (on this
 * Node and on the gateway's Node 24), its RSS over the fresh supervisor's during the window, and
 * for a minute after the last job ended (the pool retires idle threads after 20 s).
 */
import { execa } from 'execa';
import { join, resolve } from 'node:path';
import type { LoadResult, LoadScenario } from './load.js';

export interface RssRun {
  node: string;
  result: LoadResult;
}

export type RssOutcome = { runs: RssRun[]; skipped: string[] };

const repoRoot = resolve(import.meta.dirname, '../..');

export async function runRssScenario(nodeBin: string, scenario: LoadScenario): Promise<RssRun> {
  const child = await execa(
    nodeBin,
    ['--import', 'tsx', join(repoRoot, 'bench/rss-child.ts'), JSON.stringify(scenario)],
    { cwd: repoRoot, reject: false, stdin: 'ignore', stderr: 'inherit', timeout: 15 * 60_000 },
  );
  const line = String(child.stdout)
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`rss run on ${nodeBin} printed no result (exit ${child.exitCode})`);
  const version = await execa(nodeBin, ['--version']);
  return {
    node: String(version.stdout).trim(),
    result: JSON.parse(line.slice('RESULT '.length)) as LoadResult,
  };
}

/** Seconds after the end until the RSS was back within `tolerance` of the idle supervisor's (null: never). */
export function backToIdleSeconds(r: LoadResult, toleranceMiB: number): number | null {
  return r.memory.rssAfterEnd.find((x) => x.deltaMiB <= toleranceMiB)?.s ?? null;
}
