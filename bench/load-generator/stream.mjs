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
import { setTimeout as sleep } from 'node:timers/promises';

const env = process.env;
if (!env.FAKE_STREAM) {
  process.stderr.write('Error: FAKE_STREAM is not set\n');
  process.exit(125);
}
const recording = readFileSync(env.FAKE_STREAM);
const total = Number(env.FAKE_TOTAL_BYTES ?? 0);
const rate = Number(env.FAKE_RATE_BYTES_PER_SEC ?? 0);
const chunk =
  Number(env.FAKE_CHUNK_BYTES ?? 0) ||
  (rate > 0 ? Math.max(1, Math.min(65536, Math.floor(rate / 50))) : 1 << 20);

let body = recording;
let last = Buffer.alloc(0);
const trimmed = recording.at(-1) === 0x0a ? recording.length - 1 : recording.length;
const lastStart = recording.lastIndexOf(0x0a, trimmed - 1) + 1;
if (total > recording.length && recording.subarray(lastStart).includes('"type":"result"')) {
  body = recording.subarray(0, lastStart);
  last = recording.subarray(lastStart);
}

process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(143));
if (env.FAKE_GO_FILE) {
  while (!existsSync(env.FAKE_GO_FILE)) await sleep(10);
  // Jobs released together would write in lockstep (every worker woken in the same millisecond):
  // start each at a random phase of the write period, as independent jobs would be.
  if (rate > 0) await sleep(Math.random() * ((chunk * 1000) / rate));
}

const started = Date.now();
let sent = 0;
async function write(buf) {
  for (let i = 0; i < buf.length; i += chunk) {
    const piece = buf.subarray(i, Math.min(buf.length, i + chunk));
    sent += piece.length;
    if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
    const wait = rate > 0 ? started + (sent * 1000) / rate - Date.now() : 0;
    if (wait > 0) await sleep(wait);
  }
}

do await write(body);
while (sent + last.length < total && body.length > 0);
await write(last);
