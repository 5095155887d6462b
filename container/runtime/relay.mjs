// claude-pod API relay: run by the supervisor inside a remote job's container through the engine's
// own exec channel (`podman exec -i`, `docker exec -i`, the Kubernetes exec API), as the container's
// user. It listens on a unix socket in the container's /tmp, where the forwarder (forwarder.mjs)
// connects for each of Claude Code's API connections, and carries every connection over its own
// stdin/stdout to the supervisor, which hands it to the job's model-API proxy on its host. The
// container still has no network; the credential and the token check stay on the supervisor's host.
//
// Frames, both ways: type (1 byte), connection id (uint32 BE), length (uint32 BE), payload.
//   1 OPEN (relay → host), 2 DATA, 3 END (half-close), 4 CLOSE (abort), 5 READY (relay → host, id 0)
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const OPEN = 1;
const DATA = 2;
const END = 3;
const CLOSE = 4;
const READY = 5;
const MAX_PAYLOAD = 64 * 1024;
const MAX_CONNECTIONS = 64;

const socketPath = process.env.CLAUDE_POD_API_SOCKET || '/tmp/.claude-pod-relay/api.sock';
const conns = new Map();
let nextId = 1;
let stdoutBlocked = false;

function frame(type, id, payload = Buffer.alloc(0)) {
  const header = Buffer.alloc(9);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(payload.length, 5);
  if (!process.stdout.write(payload.length ? Buffer.concat([header, payload]) : header) && !stdoutBlocked) {
    // The host reads slower than the connections write: hold them until it catches up.
    stdoutBlocked = true;
    for (const c of conns.values()) c.pause();
    process.stdout.once('drain', () => {
      stdoutBlocked = false;
      for (const c of conns.values()) c.resume();
    });
  }
}

function send(type, id, payload) {
  for (let at = 0; at < payload.length; at += MAX_PAYLOAD)
    frame(type, id, payload.subarray(at, at + MAX_PAYLOAD));
}

fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
try {
  fs.unlinkSync(socketPath);
} catch {
  // none left from an earlier relay
}

const server = net.createServer({ allowHalfOpen: true }, (conn) => {
  if (conns.size >= MAX_CONNECTIONS) {
    conn.destroy();
    return;
  }
  const id = nextId++;
  conns.set(id, conn);
  frame(OPEN, id);
  if (stdoutBlocked) conn.pause();
  conn.on('data', (chunk) => send(DATA, id, chunk));
  conn.on('end', () => frame(END, id));
  conn.on('error', () => undefined);
  conn.on('close', () => {
    if (conns.delete(id)) frame(CLOSE, id);
  });
});

server.listen(socketPath, () => frame(READY, 0));
server.on('error', (error) => {
  process.stderr.write(`claude-pod-relay: cannot listen on ${socketPath}: ${error.message}\n`);
  process.exit(1);
});

let pending = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  while (pending.length >= 9) {
    const type = pending.readUInt8(0);
    const id = pending.readUInt32BE(1);
    const length = pending.readUInt32BE(5);
    if (length > MAX_PAYLOAD) {
      process.stderr.write('claude-pod-relay: oversized frame from the host\n');
      process.exit(1);
    }
    if (pending.length < 9 + length) break;
    const payload = pending.subarray(9, 9 + length);
    pending = pending.subarray(9 + length);
    const conn = conns.get(id);
    if (!conn) continue;
    if (type === DATA) conn.write(payload);
    else if (type === END) conn.end();
    else if (type === CLOSE) {
      conns.delete(id);
      conn.destroy();
    }
  }
});

function shutdown() {
  server.close();
  for (const conn of conns.values()) conn.destroy();
  try {
    fs.unlinkSync(socketPath);
  } catch {
    // gone already
  }
  process.exit(0);
}
// The host went away (the supervisor stopped, the exec channel broke): a new relay takes over.
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGINT', () => undefined);
