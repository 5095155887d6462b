/**
 * The supervisor's end of a remote job's model-API tunnel. It runs container/runtime/relay.mjs
 * in the job's container through the engine's exec channel (authenticated as the engine's API
 * is: its unix socket's permissions, SSH, TLS, or Kubernetes RBAC) and, for every connection the
 * relay announces, connects to the job's proxy socket on this host. The container never holds
 * the credential, its token is checked here, and its only way out is this channel.
 *
 * What the relay sends is hostile input (anything in the container can write to it): frames are
 * bounded, ids are the relay's own, and a frame that breaks the rules ends the tunnel (it is
 * started again). All it can ever do is reach this one job's proxy socket.
 */
import net from 'node:net';
import type { ContainerEngine, ExecSession } from '../runtime/engine.js';

export const FRAME = { OPEN: 1, DATA: 2, END: 3, CLOSE: 4, READY: 5 } as const;
export const MAX_PAYLOAD = 64 * 1024;
const MAX_CONNECTIONS = 64;
export const RELAY_COMMAND = ['node', '/opt/claude-pod/relay.mjs'];

export function encodeFrame(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(payload.length, 5);
  return payload.length ? Buffer.concat([header, payload]) : header;
}

/** Splits a byte stream into frames; throws on a frame no relay sends. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ type: number; id: number; payload: Buffer }> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Array<{ type: number; id: number; payload: Buffer }> = [];
    while (this.pending.length >= 9) {
      const type = this.pending.readUInt8(0);
      const id = this.pending.readUInt32BE(1);
      const length = this.pending.readUInt32BE(5);
      if (type < FRAME.OPEN || type > FRAME.READY) throw new Error(`unknown frame type ${type}`);
      if (length > MAX_PAYLOAD) throw new Error(`frame of ${length} bytes`);
      if (this.pending.length < 9 + length) break;
      frames.push({ type, id, payload: this.pending.subarray(9, 9 + length) });
      this.pending = this.pending.subarray(9 + length);
    }
    return frames;
  }
}

export interface TunnelEvents {
  /** The relay listens in the container. */
  onReady?(): void;
  onLog?(level: 'info' | 'warn', msg: string, data?: Record<string, unknown>): void;
}

/** One exec session of the relay; `done` resolves when it ended (the caller may start another). */
export class ApiTunnel {
  private readonly conns = new Map<number, net.Socket>();
  private readonly decoder = new FrameDecoder();
  private session: ExecSession | null = null;
  private closed = false;
  readonly done: Promise<{ reason: string }>;
  private finish!: (r: { reason: string }) => void;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly container: string,
    /** The job's proxy socket on this host. */
    private readonly apiSocket: string,
    private readonly events: TunnelEvents = {},
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  start(): this {
    const session = this.engine.exec(this.container, RELAY_COMMAND);
    this.session = session;
    session.stdout.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = this.decoder.push(chunk);
      } catch (error) {
        this.stop(`bad frame from the relay: ${(error as Error).message}`);
        return;
      }
      for (const f of frames) this.onFrame(f.type, f.id, f.payload);
    });
    session.stdout.on('error', () => undefined);
    void session.done.then((end) =>
      this.stop(
        `relay ended (exit ${end.exitCode ?? end.signal ?? '?'}): ${end.stderrTail.trim().slice(-300)}`,
      ),
    );
    return this;
  }

  stop(reason = 'stopped'): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.conns.values()) c.destroy();
    this.conns.clear();
    this.session?.stdin.end();
    this.session?.kill();
    this.finish({ reason });
  }

  /** false: the exec channel's buffer is full (the container does not read); the caller waits for drain. */
  private write(type: number, id: number, payload?: Buffer): boolean {
    if (this.closed || !this.session) return true;
    return this.session.stdin.write(encodeFrame(type, id, payload));
  }

  private onFrame(type: number, id: number, payload: Buffer): void {
    if (type === FRAME.READY) {
      this.events.onReady?.();
      return;
    }
    if (type === FRAME.OPEN) {
      if (this.conns.has(id) || this.conns.size >= MAX_CONNECTIONS) {
        this.write(FRAME.CLOSE, id);
        return;
      }
      const conn = net.createConnection({ path: this.apiSocket, allowHalfOpen: true });
      this.conns.set(id, conn);
      conn.on('data', (chunk: Buffer) => {
        let room = true;
        for (let at = 0; at < chunk.length; at += MAX_PAYLOAD) {
          room = this.write(FRAME.DATA, id, chunk.subarray(at, at + MAX_PAYLOAD)) && room;
        }
        // Bounded memory: a container that stops reading its relay's stdin holds the proxy's side.
        if (!room && this.session && !conn.isPaused()) {
          conn.pause();
          this.session.stdin.once('drain', () => conn.resume());
        }
      });
      conn.on('end', () => this.write(FRAME.END, id));
      conn.on('error', (error) => {
        this.events.onLog?.('warn', 'model API proxy connection failed', { err: error.message });
      });
      conn.on('close', () => {
        if (this.conns.delete(id)) this.write(FRAME.CLOSE, id);
      });
      return;
    }
    const conn = this.conns.get(id);
    if (!conn) return;
    if (type === FRAME.DATA) {
      // Bounded memory: while the proxy's side is slower than the relay, stop reading the relay.
      if (!conn.write(payload) && this.session && !this.session.stdout.isPaused()) {
        const stdout = this.session.stdout;
        stdout.pause();
        conn.once('drain', () => stdout.resume());
        conn.once('close', () => stdout.resume());
      }
    } else if (type === FRAME.END) conn.end();
    else if (type === FRAME.CLOSE) {
      this.conns.delete(id);
      conn.destroy();
    }
  }
}
