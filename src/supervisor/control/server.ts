import { chmod, mkdir, unlink } from 'node:fs/promises';
import http from 'node:http';
import { dirname } from 'node:path';
import { ClaudePodError, ErrorCodes, serializeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { JobStatus } from '../job-view.js';
import type { Supervisor } from '../supervisor.js';
import {
  CONTROL_PATHS,
  MAX_BUFFERED_EVENT_BYTES,
  MAX_CALL_BYTES,
  mirrorJob,
  type CallReply,
  type CallRequest,
  type StreamMessage,
} from './protocol.js';

export interface ControlServer {
  readonly socketPath: string;
  /** Clients with an open event stream. */
  readonly clients: number;
  /** Called whenever `clients` changes. */
  onClients(listener: (count: number) => void): void;
  close(): Promise<void>;
}

const JOB_EVENTS = ['job:start', 'job:running', 'job:progress', 'job:end'] as const;

/**
 * Serves a supervisor's control API on a unix socket that only the owner's user can reach (the
 * socket 0600, its directory 0700). The caller holds the state-directory lock, so any socket file
 * already there is a dead owner's and is replaced.
 */
export async function serveControl(
  sup: Supervisor,
  socketPath: string,
  logger: Logger,
): Promise<ControlServer> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await chmod(dirname(socketPath), 0o700);
  await unlink(socketPath).catch(() => undefined);

  let seq = 0;
  const streams = new Set<http.ServerResponse>();
  const clientListeners: Array<(count: number) => void> = [];
  const clientsChanged = () => clientListeners.forEach((l) => l(streams.size));

  type Unsequenced = StreamMessage extends infer M
    ? M extends StreamMessage
      ? Omit<M, 'seq'>
      : never
    : never;
  const broadcast = (message: Unsequenced): void => {
    if (streams.size === 0) return;
    const line = `${JSON.stringify({ ...message, seq: ++seq })}\n`;
    for (const res of streams) {
      if (res.writableLength > MAX_BUFFERED_EVENT_BYTES) {
        logger.warn('control client too slow; disconnecting it');
        res.destroy();
        continue;
      }
      res.write(line);
    }
  };
  const onJob = (event: (typeof JOB_EVENTS)[number]) => (status: JobStatus) => {
    const job = sup.job(status.jobId);
    if (!job) return;
    const session = sup.session(job.sessionId);
    broadcast({ t: 'job', event, job: mirrorJob(job), ...(session ? { session } : {}) });
  };
  const listeners = JOB_EVENTS.map((event) => [event, onJob(event)] as const);
  for (const [event, listener] of listeners) sup.on(event, listener);
  const onSessionRemoved = (sessionId: string) => broadcast({ t: 'session:removed', sessionId });
  sup.on('session:removed', onSessionRemoved);

  const server = http.createServer({ requestTimeout: 0, headersTimeout: 10_000 }, (req, res) => {
    if (req.method === 'GET' && req.url === CONTROL_PATHS.events) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      const snapshot = sup.snapshot();
      const hello: StreamMessage = {
        t: 'hello',
        seq: ++seq,
        info: sup.info(),
        workspacesDir: sup.config.workspacesDir,
        jobs: Object.values(snapshot.jobs).map(mirrorJob),
        sessions: Object.values(snapshot.sessions),
      };
      res.write(`${JSON.stringify(hello)}\n`);
      streams.add(res);
      clientsChanged();
      const gone = () => {
        if (streams.delete(res)) clientsChanged();
      };
      res.on('close', gone);
      req.on('close', gone);
      return;
    }
    if (req.method === 'POST' && req.url === CONTROL_PATHS.call) {
      void readBody(req).then(
        async (body) => reply(res, await call(sup, body, () => seq)),
        (error: unknown) => reply(res, { ok: false, error: serializeError(error) }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);

  return {
    socketPath,
    get clients() {
      return streams.size;
    },
    onClients: (listener) => clientListeners.push(listener),
    close: async () => {
      for (const [event, listener] of listeners) sup.off(event, listener);
      sup.off('session:removed', onSessionRemoved);
      for (const res of streams) res.destroy();
      streams.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await unlink(socketPath).catch(() => undefined);
    },
  };
}

function reply(res: http.ServerResponse, body: CallReply): void {
  if (res.destroyed) return;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function readBody(req: http.IncomingMessage): Promise<CallRequest> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CALL_BYTES) {
        reject(
          new ClaudePodError(
            ErrorCodes.INVALID_ARGUMENT,
            `A control request may be at most ${MAX_CALL_BYTES} bytes`,
          ),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as CallRequest);
      } catch {
        reject(new ClaudePodError(ErrorCodes.INVALID_ARGUMENT, 'A control request must be JSON'));
      }
    });
    req.on('error', reject);
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

async function call(sup: Supervisor, request: CallRequest, seq: () => number): Promise<CallReply> {
  const p = (request?.params ?? {}) as Record<string, unknown>;
  try {
    const withJob = (result: unknown, jobId: string): CallReply => {
      const job = sup.job(jobId);
      const session = job ? sup.session(job.sessionId) : undefined;
      return {
        ok: true,
        result,
        seq: seq(),
        ...(job ? { job: mirrorJob(job) } : {}),
        ...(session ? { session } : {}),
      };
    };
    switch (request?.method) {
      case 'start': {
        const sessionId = str(p.sessionId);
        const started = await sup.start({
          prompt: p.prompt as string,
          ...(sessionId === undefined ? {} : { sessionId }),
        });
        return withJob(started, started.jobId);
      }
      case 'status':
        return withJob(sup.status(p.jobId as string), p.jobId as string);
      case 'output': {
        const offset = num(p.offset);
        const limit = num(p.limit);
        const page = await sup.output(p.jobId as string, {
          ...(offset === undefined ? {} : { offset }),
          ...(limit === undefined ? {} : { limit }),
        });
        return { ok: true, result: page, seq: seq() };
      }
      case 'cancel': {
        const timeoutMs = num(p.timeoutMs);
        const status = await sup.cancel(p.jobId as string, timeoutMs === undefined ? {} : { timeoutMs });
        return withJob(status, status.jobId);
      }
      case 'cleanup': {
        const olderThanSeconds = num(p.olderThanSeconds);
        return {
          ok: true,
          result: await sup.cleanup(olderThanSeconds === undefined ? {} : { olderThanSeconds }),
          seq: seq(),
        };
      }
      case 'info':
        return { ok: true, result: sup.info(), seq: seq() };
      default:
        throw new ClaudePodError(
          ErrorCodes.INVALID_ARGUMENT,
          `Unknown control method: ${String(request?.method)}`,
        );
    }
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}
