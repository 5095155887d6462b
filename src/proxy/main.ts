/**
 * The API proxy daemon: `node dist/proxy/main.js`, one per state directory, started detached by
 * `ensureApiProxy` (client.ts). It outlives the process that started it, so a job's container
 * keeps its in-flight API stream across a supervisor crash. Settings, including the credential,
 * come from the environment (see settings.ts); the secret is never logged. daemon.ts says what
 * it does.
 */
import { closeSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { peerServing, ProxyDaemon } from './daemon.js';
import { prepareProxyDir, prepareSocketRoot, proxyPaths, type ProxyPaths } from './paths.js';
import {
  configFingerprint,
  ENV,
  EXIT_PEER_RUNNING,
  READY_FD_ENV,
  readDaemonSettings,
  type DaemonSettings,
} from './settings.js';

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

async function main(): Promise<void> {
  // Sockets and files are born private; owners and modes are set explicitly where they differ.
  process.umask(0o077);
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
  await prepareSocketRoot(paths.socketRoot);
  const logger = openLog(paths, settings.logLevel);
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });

  const fingerprint = configFingerprint(
    settings.upstream,
    settings.credential,
    settings.limits,
    settings.options,
  );
  const peer = await peerServing(paths.controlSocket, fingerprint);
  if (peer !== null && peer !== process.pid) {
    logger.info({ peer }, 'another api proxy with this configuration already serves');
    report({ error: 'peer-running', peer });
    process.exit(EXIT_PEER_RUNNING);
  }

  const daemon = new ProxyDaemon(settings, paths, fingerprint, logger);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) daemon.exit(0, `second ${signal}`);
    void daemon.drain(signal);
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
