/**
 * The API proxy daemon: `node dist/proxy/main.js`, one per state directory, started detached by
 * `ensureApiProxy` (client.ts). It outlives the process that started it, so a job's container keeps
 * its in-flight API stream across a supervisor crash. Settings, including the credential, come from
 * the environment (see settings.ts); the secret is never logged. It exits on SIGTERM (after letting
 * in-flight requests finish) or by itself once it has had no connections and no tokens for a while.
 */
import { closeSync, openSync, renameSync, statSync, watch, writeSync, type FSWatcher } from 'node:fs';
import { chmod, stat, unlink } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { pino, type Logger } from 'pino';
import { createApiProxyHandler } from './http-proxy.js';
import { prepareProxyDir, prepareSocketDir, proxyPaths, type ProxyPaths } from './paths.js';
import { removePidFileIfOwned, writePidFile } from './pid-file.js';
import { probeProxy } from './probe.js';
import {
  configFingerprint,
  ENV,
  EXIT_PEER_RUNNING,
  normalizeUpstream,
  READY_FD_ENV,
  readDaemonSettings,
  type DaemonSettings,
} from './settings.js';
import { TokenTable } from './token-file.js';

const MAX_LOG_BYTES = 10 * 1024 * 1024;

function report(message: Record<string, unknown>): void {
  const fd = Number(process.env[READY_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, `${JSON.stringify(message)}\n`);
    closeSync(fd);
  } catch {
    // The starter is gone: nobody to tell.
  }
  delete process.env[READY_FD_ENV];
}

function openLog(paths: ProxyPaths, level: string): Logger {
  try {
    if (statSync(paths.logFile).size > MAX_LOG_BYTES) renameSync(paths.logFile, `${paths.logFile}.1`);
  } catch {
    // no log yet
  }
  const fd = openSync(paths.logFile, 'a', 0o600);
  return pino(
    {
      name: 'claude-pod-proxy',
      level,
      redact: { paths: ['credential', '*.credential', 'token', 'headers'], censor: '[redacted]' },
    },
    pino.destination({ dest: fd, sync: true }),
  );
}

class ProxyDaemon {
  private readonly tokens: TokenTable;
  private readonly http: http.Server;
  private socketIno: number | null = null;
  private connections = 0;
  private idleSince: number | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private draining = false;

  constructor(
    private readonly settings: DaemonSettings,
    private readonly paths: ProxyPaths,
    private readonly logger: Logger,
  ) {
    this.tokens = new TokenTable(paths.tokensFile);
    this.http = http.createServer(
      { keepAliveTimeout: 30_000, requestTimeout: 0, headersTimeout: 60_000 },
      createApiProxyHandler({
        upstream: settings.upstream,
        credential: settings.credential,
        lookupToken: (token) => this.tokens.lookup(token),
        logger,
      }),
    );
    this.http.on('connection', (socket: net.Socket) => {
      this.connections += 1;
      this.idleSince = null;
      socket.on('close', () => {
        this.connections -= 1;
      });
    });
  }

  async start(): Promise<void> {
    await this.tokens.refresh();
    await this.listen();
    await writePidFile(this.paths.pidFile, {
      pid: process.pid,
      fingerprint: configFingerprint(this.settings.upstream, this.settings.credential),
      socketPath: this.settings.socketPath,
      upstream: normalizeUpstream(this.settings.upstream),
      credentialKind: this.settings.credential.kind,
      startedAt: Date.now(),
    });
    try {
      // Prompt token reloads; the tick below re-checks the file anyway, in case a watch event is lost.
      this.watcher = watch(this.paths.dir, () => void this.tokens.refresh().catch(() => undefined));
    } catch {
      this.watcher = null;
    }
    const tickMs = Math.max(50, Math.min(1000, Math.floor(this.settings.idleExitMs / 4)));
    this.ticker = setInterval(
      () => void this.tick().catch((err: unknown) => this.logger.warn({ err }, 'tick')),
      tickMs,
    );
    this.logger.info(
      {
        pid: process.pid,
        socket: this.settings.socketPath,
        upstream: normalizeUpstream(this.settings.upstream),
      },
      'api proxy listening',
    );
  }

  private async listen(): Promise<void> {
    await unlink(this.settings.socketPath).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.settings.socketPath, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    await chmod(this.settings.socketPath, 0o666);
    this.socketIno = (await stat(this.settings.socketPath)).ino;
  }

  private ticking = false;

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.tickOnce();
    } finally {
      this.ticking = false;
    }
  }

  private async tickOnce(): Promise<void> {
    if (this.draining) {
      this.http.closeIdleConnections();
      if (this.connections === 0) this.exit(0, 'drained');
      return;
    }
    await this.tokens.refresh();
    await this.checkSocket();
    if (this.draining) return;
    if (this.connections > 0) {
      this.idleSince = null;
      return;
    }
    this.idleSince ??= Date.now();
    const quiet = Date.now() - this.idleSince;
    if (this.tokens.size === 0 && quiet >= this.settings.idleExitMs) await this.idleShutdown(false);
    // Tokens nobody revoked (a supervisor that died for good) must not keep us alive for ever.
    else if (quiet >= this.settings.orphanExitMs) await this.idleShutdown(true);
  }

  /**
   * Stop accepting first, then look at the tokens once more: a grant written from now on is seen
   * here (and we listen again), or the granting client finds no proxy answering and starts one.
   * Either way a freshly granted token never meets a proxy that is about to vanish.
   */
  private async idleShutdown(orphaned: boolean): Promise<void> {
    this.http.close();
    this.socketIno = null;
    await this.tokens.refresh();
    if ((this.tokens.size > 0 && !orphaned) || this.connections > 0) {
      this.idleSince = null;
      await this.listen();
      this.logger.info('idle exit called off: new token or connection');
      return;
    }
    this.logger.info({ tokens: this.tokens.size }, orphaned ? 'no connections for a long time' : 'idle');
    await this.shutdown(orphaned ? 'orphaned' : 'idle');
  }

  /** Our socket file removed (e.g. a temp cleaner): listen again. Replaced by another proxy: give way. */
  private async checkSocket(): Promise<void> {
    let ino: number | null = null;
    try {
      ino = (await stat(this.settings.socketPath)).ino;
    } catch {
      ino = null;
    }
    if (ino === this.socketIno) return;
    if (ino === null) {
      this.logger.warn('socket file vanished; listening again');
      // close() only stops accepting; open connections carry on, and the server may listen again.
      this.http.close();
      await prepareSocketDir(this.paths.socketDir);
      await this.listen();
      return;
    }
    this.logger.warn('socket taken over by another proxy; draining');
    await this.shutdown('superseded', { pathTaken: true });
  }

  /**
   * Stop accepting, give the socket and pid file up at once, let in-flight requests finish.
   * Closing the server also unlinks its socket path — unless another proxy has taken that path over.
   */
  async shutdown(reason: string, opts: { pathTaken?: boolean } = {}): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.watcher?.close();
    if (opts.pathTaken) this.http.closeIdleConnections();
    else this.http.close();
    await removePidFileIfOwned(this.paths.pidFile, process.pid);
    this.logger.info({ reason, connections: this.connections }, 'api proxy stopping');
    if (this.connections === 0) this.exit(0, reason);
    setTimeout(() => this.exit(0, `${reason}: drain timeout`), this.settings.drainMs).unref();
  }

  exit(code: number, reason: string): never {
    this.logger.info({ code, reason }, 'api proxy exited');
    process.exit(code);
  }
}

async function main(): Promise<void> {
  let settings: DaemonSettings;
  try {
    settings = readDaemonSettings(process.env);
  } catch (error) {
    report({ error: `invalid proxy settings: ${(error as Error).message}` });
    process.exit(2);
  }
  // The secret lives in `settings` only from here on.
  delete process.env[ENV.credential];

  const paths = proxyPaths(settings.stateDir);
  await prepareProxyDir(paths);
  const logger = openLog(paths, settings.logLevel);
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });

  await prepareSocketDir(paths.socketDir);
  const peer = await probeProxy(settings.socketPath, 1000);
  if (peer !== null && peer !== process.pid) {
    logger.info({ peer }, 'another api proxy already serves this socket');
    report({ error: 'peer-running', peer });
    process.exit(EXIT_PEER_RUNNING);
  }

  const daemon = new ProxyDaemon(settings, paths, logger);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) daemon.exit(0, `second ${signal}`);
    void daemon.shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Detached and without a terminal; a hangup must not kill it.
  process.on('SIGHUP', () => undefined);

  await daemon.start();
  report({ ready: true, pid: process.pid });
}

main().catch((error: unknown) => {
  report({ error: (error as Error).message ?? String(error) });
  process.exit(1);
});
