/**
 * The supervisor's end of a remote job's model-API tunnel, against a relay that is hostile: what
 * comes over the exec channel is whatever the container writes. A fake exec session stands in for
 * `podman exec -i` (two PassThrough streams); the job's proxy socket is a real unix socket.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerEngine, ExecSession, StreamEnd } from '../../../src/runtime/engine.js';
import { ApiTunnel, encodeFrame, FRAME, FrameDecoder, MAX_PAYLOAD } from '../../../src/workers/api-tunnel.js';

/** What the relay side of the exec session sees and does. */
interface FakeRelay {
  /** Bytes the relay writes (the tunnel reads them). */
  toHost: PassThrough;
  /** Bytes the tunnel writes to the relay. */
  fromHost: PassThrough;
  end(result?: Partial<StreamEnd>): void;
}

function fakeEngine(): { engine: ContainerEngine; relay: Promise<FakeRelay> } {
  let give!: (r: FakeRelay) => void;
  const relay = new Promise<FakeRelay>((resolve) => (give = resolve));
  const engine = {
    exec(): ExecSession {
      const toHost = new PassThrough();
      // A small buffer, as a pipe has: the tunnel's writes fill it quickly when nobody reads.
      const fromHost = new PassThrough({ highWaterMark: 64 * 1024 });
      let finish!: (end: StreamEnd) => void;
      const done = new Promise<StreamEnd>((resolve) => (finish = resolve));
      const end = (r: Partial<StreamEnd> = {}) =>
        finish({ exitCode: 0, signal: null, spawnError: null, stderrTail: '', ...r });
      give({ toHost, fromHost, end });
      return {
        stdin: fromHost,
        stdout: toHost,
        done,
        kill: () => end({ exitCode: null, signal: 'SIGTERM' }),
      };
    },
  } as unknown as ContainerEngine;
  return { engine, relay };
}

const waitFor = async (check: () => boolean, ms = 5_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('the API tunnel against a hostile relay', () => {
  let dir: string;
  let socket: string;
  let server: net.Server;
  let accepted: net.Socket[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-tunnel-'));
    socket = join(dir, 'api.sock');
    accepted = [];
    server = net.createServer({ allowHalfOpen: true }, (c) => accepted.push(c));
    server.listen(socket);
    await once(server, 'listening');
  });

  afterEach(async () => {
    for (const c of accepted) c.destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('carries a connection both ways, with half-close, to the job socket', async () => {
    const { engine, relay } = fakeEngine();
    const tunnel = new ApiTunnel(engine, 'c', socket).start();
    const r = await relay;
    const decoder = new FrameDecoder();
    const got: Array<{ type: number; id: number; payload: Buffer }> = [];
    r.fromHost.on('data', (chunk: Buffer) => got.push(...decoder.push(chunk)));
    r.toHost.write(encodeFrame(FRAME.OPEN, 7));
    r.toHost.write(encodeFrame(FRAME.DATA, 7, Buffer.from('GET / HTTP/1.1\r\n\r\n')));
    r.toHost.write(encodeFrame(FRAME.END, 7));
    await waitFor(() => accepted.length === 1);
    const proxySide = accepted[0]!;
    let request = '';
    proxySide.on('data', (c: Buffer) => (request += c.toString()));
    await once(proxySide, 'end');
    expect(request).toBe('GET / HTTP/1.1\r\n\r\n');
    proxySide.end('HTTP/1.1 200 OK\r\n\r\nhi');
    await waitFor(() => got.some((f) => f.type === FRAME.END && f.id === 7));
    const body = Buffer.concat(got.filter((f) => f.type === FRAME.DATA).map((f) => f.payload)).toString();
    expect(body).toBe('HTTP/1.1 200 OK\r\n\r\nhi');
    tunnel.stop();
  });

  it('a frame no relay sends (unknown type, oversized payload) ends the tunnel', async () => {
    for (const bad of [
      Buffer.from([9, 0, 0, 0, 1, 0, 0, 0, 0]),
      (() => {
        const h = encodeFrame(FRAME.DATA, 1);
        h.writeUInt32BE(MAX_PAYLOAD + 1, 5);
        return h;
      })(),
    ]) {
      const { engine, relay } = fakeEngine();
      const tunnel = new ApiTunnel(engine, 'c', socket).start();
      (await relay).toHost.write(bad);
      const { reason } = await tunnel.done;
      expect(reason).toMatch(/bad frame from the relay/);
    }
  });

  it('at most 64 connections at once; the 65th is closed at once', async () => {
    const { engine, relay } = fakeEngine();
    const tunnel = new ApiTunnel(engine, 'c', socket).start();
    const r = await relay;
    const decoder = new FrameDecoder();
    const closed: number[] = [];
    r.fromHost.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) if (f.type === FRAME.CLOSE) closed.push(f.id);
    });
    for (let id = 1; id <= 65; id++) r.toHost.write(encodeFrame(FRAME.OPEN, id));
    await waitFor(() => accepted.length === 64 && closed.includes(65));
    expect(closed).toEqual([65]);
    tunnel.stop();
  });

  it('bounded memory: a relay that floods a connection whose proxy side does not read is no longer read', async () => {
    const { engine, relay } = fakeEngine();
    const tunnel = new ApiTunnel(engine, 'c', socket).start();
    const r = await relay;
    r.toHost.write(encodeFrame(FRAME.OPEN, 1));
    await waitFor(() => accepted.length === 1);
    accepted[0]!.pause(); // the proxy's side takes nothing more
    const chunk = encodeFrame(FRAME.DATA, 1, Buffer.alloc(MAX_PAYLOAD, 1));
    // 256 MiB offered; the relay side can write only while the tunnel reads.
    let offered = 0;
    while (offered < 256 * 1024 * 1024 && r.toHost.write(chunk)) offered += chunk.length;
    for (let i = 0; i < 200 && offered < 256 * 1024 * 1024; i++) {
      await new Promise((res) => setTimeout(res, 5));
      while (offered < 256 * 1024 * 1024 && r.toHost.write(chunk)) offered += chunk.length;
    }
    // The tunnel stopped reading the relay long before 256 MiB: what it took is bounded by the
    // socket buffers and one stream's high-water mark, not by what the relay offers.
    expect(offered).toBeLessThan(32 * 1024 * 1024);
    expect(r.toHost.isPaused()).toBe(true);
    tunnel.stop();
  });

  it('bounded memory: a relay that does not read its stdin holds the proxy side of the connection', async () => {
    const { engine, relay } = fakeEngine();
    const tunnel = new ApiTunnel(engine, 'c', socket).start();
    const r = await relay;
    r.toHost.write(encodeFrame(FRAME.OPEN, 3));
    await waitFor(() => accepted.length === 1);
    const proxySide = accepted[0]!;
    // The proxy answers with far more than anyone buffers; the relay never reads.
    const block = Buffer.alloc(1024 * 1024, 2);
    let sent = 0;
    const pump = async () => {
      while (sent < 256 * 1024 * 1024) {
        sent += block.length;
        if (!proxySide.write(block)) {
          const drained = await Promise.race([
            once(proxySide, 'drain').then(() => true),
            new Promise<boolean>((res) => setTimeout(() => res(false), 1_000)),
          ]);
          if (!drained) return;
        }
      }
    };
    await pump();
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(r.fromHost.writableLength).toBeLessThan(8 * 1024 * 1024);
    tunnel.stop();
  });
});
