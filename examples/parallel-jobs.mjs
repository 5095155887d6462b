#!/usr/bin/env node
// Runs three Claude Code jobs in parallel, each in its own container and session, waits for all
// of them and prints one summary per job. Run: node examples/parallel-jobs.mjs [config.json] [prompt…]
import { readFileSync } from 'node:fs';
import { createSupervisor } from 'claude-pod';

const [configPath, ...prompts] = process.argv.slice(2);
const config = configPath ? JSON.parse(readFileSync(configPath, 'utf8')) : {};
if (prompts.length === 0) {
  prompts.push(
    'Write a haiku about containers to haiku.txt',
    'Create fizzbuzz.py that prints FizzBuzz from 1 to 15',
    'Summarise in one sentence what a pseudo-terminal is',
  );
}

const supervisor = await createSupervisor({ maxConcurrentJobs: 3, ...config });
try {
  /** Resolves with the job's final status (subscribed before start, so no end is missed). */
  const ended = new Map();
  supervisor.on('job:end', (s) => ended.get(s.jobId)?.(s));
  const run = async (prompt) => {
    const { jobId } = await supervisor.start({ prompt });
    return new Promise((resolve) => {
      ended.set(jobId, resolve);
      const now = supervisor.status(jobId);
      if (['completed', 'failed', 'cancelled'].includes(now.status)) resolve(now);
    });
  };
  const results = await Promise.all(prompts.map(run));
  for (const [i, job] of results.entries()) {
    const cost = job.claude.costUsd === null ? '–' : `$${job.claude.costUsd.toFixed(4)}`;
    const what = job.error ? `[${job.errorCode}] ${job.error}` : (job.claude.result ?? '').split('\n')[0];
    console.log(
      `${i + 1}. ${job.jobId} ${job.status} in ${job.elapsedSeconds}s, ${job.claude.numTurns ?? 0} turns, ${cost}: ${what}`,
    );
  }
  process.exitCode = results.every((j) => j.status === 'completed') ? 0 : 1;
} finally {
  await supervisor.close();
}
