// claude-pod API forwarder: runs inside the job container (Node 22, no dependencies).
// Listens on the container's own loopback and pipes every TCP connection, unchanged, to the
// host-side API proxy's unix socket (bind-mounted read-only at /run/claude-pod). The container has
// no network; this is its only way out, and the proxy only lets model-API requests through.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout } from 'node:timers';

const port = Number(process.env.CLAUDE_POD_API_PORT ?? 8119);
const socketPath = process.env.CLAUDE_POD_API_SOCKET || '/run/claude-pod/api.sock';
const readyFile = process.env.CLAUDE_POD_FORWARDER_READY || '/tmp/.claude-pod-forwarder.ready';

function log(message) {
  process.stderr.write(`claude-pod-forwarder: ${message}\n`);
}

// The proxy refuses connects while this job is at its connection cap or penalised: one line per
// reason every 5 s, with how many it stands for, instead of one per connection.
const refusals = new Map();
function logRefusal(code) {
  const now = Date.now();
  const seen = refusals.get(code) ?? { at: 0, count: 0 };
  seen.count += 1;
  if (now - seen.at >= 5000) {
    log(`proxy unavailable: ${code}${seen.count > 1 ? ` (x${seen.count})` : ''}`);
    seen.at = now;
    seen.count = 0;
  }
  refusals.set(code, seen);
}

// Relay mode (a remote engine): the socket is the relay the supervisor runs in this container
// through the engine's exec channel; while it is being (re)started, a connection waits for it.
const connectWaitMs = process.env.CLAUDE_POD_API_RELAY ? 120_000 : 0;

function connectUpstream(client, state) {
  // Connect anew for every client: a restarted proxy (new socket inode) is reached without a restart here.
  const upstream = net.createConnection({ path: socketPath, allowHalfOpen: true });
  state.upstream = upstream;
  let connected = false;
  upstream.on('connect', () => {
    connected = true;
    // pipe() forwards data with backpressure and turns one side's end (FIN) into end() on the other:
    // each direction closes on its own, so a half-closed request still gets its full response.
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  upstream.on('error', (error) => {
    const absent = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
    if (!connected && absent && Date.now() < state.deadline && !client.destroyed) {
      setTimeout(() => connectUpstream(client, state), 200);
      return;
    }
    if (absent || error.code === 'EACCES') logRefusal(error.code);
    client.destroy();
  });
  upstream.on('close', (hadError) => {
    if (connected && (hadError || !upstream.readableEnded)) client.destroy();
  });
}

const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (client) => {
  const state = { upstream: null, deadline: Date.now() + connectWaitMs };
  // An abrupt end on the client's side is passed on as one: the proxy then aborts the upstream API request.
  client.on('error', () => state.upstream?.destroy());
  client.on('close', (hadError) => {
    if (hadError || !client.readableEnded) state.upstream?.destroy();
  });
  connectUpstream(client, state);
});

server.on('error', (error) => {
  log(`cannot listen on 127.0.0.1:${port}: ${error.message}`);
  process.exit(1);
});

// A cancel (SIGINT to Claude Code) must not take the API path away while the CLI shuts down;
// the forwarder ends with the container.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => process.exit(0));

server.listen({ host: '127.0.0.1', port }, () => {
  try {
    // "<pid> <port>": the entrypoint only waits for the file; tests read the port (CLAUDE_POD_API_PORT=0).
    writeFileSync(readyFile, `${process.pid} ${server.address().port}\n`);
  } catch (error) {
    log(`cannot write ready file ${readyFile}: ${error.message}`);
  }
});
