/**
 * Plays synthetic Claude sessions (claude-session.mjs) to many jobs from one process. The load
 * generator's `run` (podman.sh, with FAKE_SESSION_MS set) makes a FIFO named after its container
 * in FAKE_STATE_DIR and becomes `cat` of it: a process of about 1 MB per job instead of a Node
 * process of about 40 MB, so 256 jobs fit on this machine. This server finds each FIFO, opens it,
 * waits for FAKE_GO_FILE, then writes each event of the job's plan at its time (a burst of tool
 * results is written back to back) and closes it at the end: `cat`, and with it the job's
 * runtime client, exits 0.
 *
 *   FAKE_STATE_DIR=<dir> FAKE_GO_FILE=<file> FAKE_SESSION_MS=<ms> node session-server.mjs
 *
 * Jobs start at a random phase of their plan's first seconds (seeded by name), as independent
 * sessions would. It exits when the state directory disappears or on SIGTERM.
 */
import { constants, existsSync, openSync, readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { join } from 'node:path';
import { sessionPlan } from './claude-session.mjs';

const dir = process.env.FAKE_STATE_DIR;
const goFile = process.env.FAKE_GO_FILE;
const durationMs = Number(process.env.FAKE_SESSION_MS ?? 30_000);
if (!dir || !goFile) {
  process.stderr.write('session-server: FAKE_STATE_DIR and FAKE_GO_FILE are required\n');
  process.exit(2);
}

/** name → its writer once open */
const sessions = new Map();
let goAt = null;

function tryOpen(name) {
  try {
    // Non-blocking: fails with ENXIO until `cat` has the FIFO open for reading.
    const fd = openSync(join(dir, `${name}.fifo`), constants.O_WRONLY | constants.O_NONBLOCK);
    const socket = new Socket({ fd, readable: false, writable: true });
    socket.on('error', () => undefined); // the job was cancelled: its reader is gone
    const session = { name, socket, plan: sessionPlan(name, { durationMs }), next: 0, timer: null };
    sessions.set(name, session);
    if (goAt !== null) schedule(session);
  } catch (error) {
    if (error.code !== 'ENXIO' && error.code !== 'ENOENT') throw error;
  }
}

function schedule(session) {
  const { events } = session.plan;
  if (session.next >= events.length) {
    session.socket.end();
    return;
  }
  const due = goAt + events[session.next].at;
  session.timer = setTimeout(
    () => {
      // Everything due by now goes out together (a burst), then wait for the next.
      const now = Date.now();
      while (session.next < events.length && goAt + events[session.next].at <= now) {
        session.socket.write(events[session.next++].bytes);
      }
      schedule(session);
    },
    Math.max(0, due - Date.now()),
  );
}

const poll = setInterval(() => {
  if (!existsSync(dir)) {
    clearInterval(poll);
    process.exit(0);
  }
  if (goAt === null && existsSync(goFile)) {
    goAt = Date.now();
    for (const session of sessions.values()) schedule(session);
  }
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.fifo')) continue;
    const name = file.slice(0, -'.fifo'.length);
    if (!sessions.has(name)) tryOpen(name);
  }
}, 20);

process.on('SIGTERM', () => process.exit(0));
