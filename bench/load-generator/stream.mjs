/**
 * The load generator's `run`: prints a recorded stream-json file to stdout, repeated until at
 * least FAKE_TOTAL_BYTES were printed with its final `result` line once at the very end (the
 * same bytes test/fixtures/fake-runtime.mjs prints for the same settings), paced at
 * FAKE_RATE_BYTES_PER_SEC (unset or 0: full speed). One process per job, writing straight to the
 * pipe the supervisor reads: no container process, no log file to poll.
 *
 * FAKE_GO_FILE=<path>: print nothing until that file exists, so that the benchmark can start N
 * jobs and then let them all stream at once (pacing starts at the go, not at process start).
 */
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { playRecording, recordingPlan } from '../../test/fixtures/recording-plan.mjs';

const env = process.env;
if (!env.FAKE_STREAM) {
  process.stderr.write('Error: FAKE_STREAM is not set\n');
  process.exit(125);
}
const recording = readFileSync(env.FAKE_STREAM);
const plan = recordingPlan(recording, env);
const { rate, chunk } = plan;

process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(143));
if (env.FAKE_GO_FILE) {
  // The benchmark removes the folder when it ends (or gives up): then there is nothing to wait for.
  while (!existsSync(env.FAKE_GO_FILE)) {
    if (!existsSync(dirname(env.FAKE_GO_FILE))) process.exit(0);
    await sleep(10);
  }
  // Jobs released together would write in lockstep (every worker woken in the same millisecond):
  // start each at a random phase of the write period, as independent jobs would be.
  if (rate > 0) await sleep(Math.random() * ((chunk * 1000) / rate));
}

await playRecording(plan, async (piece) => {
  if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
});
