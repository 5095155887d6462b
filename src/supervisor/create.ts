import { chmod, mkdir } from 'node:fs/promises';
import { assertLimitsEnforced } from '../runtime/limit-support.js';
import type { ContainerEngine } from '../runtime/engine.js';
import type { RuntimeInfo } from '../runtime/runtime-info.js';
import { parseConfig, type ConfigInput, type ResolvedConfig } from '../shared/config.js';
import { ClaudePodError, ErrorCodes, isClaudePodError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import type { RuntimeSpec } from '../shared/protocol.js';
import type { ApiGate } from './api-gate.js';
import type { SupervisorApi } from './api.js';
import { SupervisorClient, type ClientOptions } from './control/client.js';
import { serveControl } from './control/server.js';
import { buildEngineSet, type EngineOverride } from './engine-set.js';
import { Notifier } from './notifier.js';
import { ownerIdFor } from './owner.js';
import type { JobPoolLike } from './pool.js';
import { ProxyGate } from './proxy-gate.js';
import { loadRegistry, type RegistryWriter } from './registry-file.js';
import { stageContainerRuntime } from './stage-runtime.js';
import { sessionDiskLimits } from './session-files.js';
import { acquireStateLock } from './state-lock.js';
import { statePaths } from './state-paths.js';
import { Supervisor, type SupervisorTiming } from './supervisor.js';
import { proxyOptionsFor } from './proxy-options-for.js';

export interface CreateSupervisorOptions {
  logger?: Logger;
  /** Skip runtime detection (tests, benchmarks with a fake runtime). */
  runtime?: RuntimeInfo;
  /** The container engine to use (tests: an in-memory one); default: built from the runtime. */
  engine?: ContainerEngine;
  /** Replace the model-API proxy (tests). */
  apiGate?: ApiGate;
  /** Environment to read ANTHROPIC_API_KEY from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Do not reconcile with the runtime on start (benchmarks). */
  skipRecovery?: boolean;
  /** Benchmark baseline only: parse and write on the main thread (the design we rejected). */
  inlineJobsForBenchmark?: boolean;
  /** The pool that hosts the jobs' actors (tests); default: worker threads. */
  pool?: JobPoolLike;
  /**
   * Per engine (config `engines[].name`; `local` without `engines`): its client, pool or runtime
   * (tests). `runtime`, `engine` and `pool` above are the same for the `local` engine.
   */
  engines?: Record<string, EngineOverride>;
  /** How the registry is written (tests inject failures). */
  registryWriter?: RegistryWriter;
  /** The supervisor's own waits (tests shorten them). */
  timing?: Partial<SupervisorTiming>;
  /**
   * When another live process owns the state directory: `client` (default) returns a client of
   * that owner with the same interface; `error` throws STATE_DIR_BUSY.
   */
  ifBusy?: 'client' | 'error';
  /** Serve the control API on the state directory's socket when this becomes the owner (default true). */
  serveControl?: boolean;
  /** For a client: reconnection and the hook that starts an owner when none answers. */
  client?: ClientOptions;
  /**
   * For an owner: called at the very end of its close(), once the lock is released (the CLI
   * hands jobs that are still unfinished to a `serve` daemon here).
   */
  afterClose?: (owner: Supervisor) => Promise<void>;
}

/**
 * A supervisor for the config's state directory: the owner when no live process holds the
 * directory (it takes the lock, finds the runtime, loads the registry, serves the control API
 * and recovers the jobs it finds), else a client of the process that does.
 */
export async function createSupervisor(
  input: ConfigInput | ResolvedConfig = {},
  options: CreateSupervisorOptions = {},
): Promise<SupervisorApi> {
  const config = isResolved(input) ? input : parseConfig(input);
  try {
    return await openOwner(config, options);
  } catch (error) {
    if (!isClaudePodError(error) || error.code !== ErrorCodes.STATE_DIR_BUSY || options.ifBusy === 'error') {
      throw error;
    }
    return connectClient(config, options.client);
  }
}

/** A client of the directory's owner; waits a little for an owner that is still starting up. */
export async function connectClient(
  config: ResolvedConfig,
  options: ClientOptions = {},
): Promise<SupervisorClient> {
  const { controlSocket } = statePaths(config.sessionsDir, config.workspacesDir);
  const deadline = Date.now() + (options.connectTimeoutMs ?? 15_000);
  for (;;) {
    try {
      return await SupervisorClient.connect(controlSocket, { ...options, connectTimeoutMs: 5_000 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Becomes the owner of the state directory, or throws STATE_DIR_BUSY naming the live holder. */
export async function openOwner(
  input: ConfigInput | ResolvedConfig = {},
  options: CreateSupervisorOptions = {},
): Promise<Supervisor> {
  const config = isResolved(input) ? input : parseConfig(input);
  const paths = statePaths(config.sessionsDir, config.workspacesDir, sessionDiskLimits(config));
  await mkdir(config.sessionsDir, { recursive: true, mode: 0o700 });
  await chmod(config.sessionsDir, 0o700);
  await mkdir(config.workspacesDir, { recursive: true });
  const lock = await acquireStateLock(paths.lock);
  if (!lock.acquired) {
    throw new ClaudePodError(
      ErrorCodes.STATE_DIR_BUSY,
      `Another claude-pod supervisor (pid ${lock.holder.pid}) owns ${config.sessionsDir}; ` +
        'talk to it as a client (the default of createSupervisor), or use a different sessionsDir',
      { details: { pid: lock.holder.pid, sessionsDir: config.sessionsDir } },
    );
  }
  const logger = options.logger ?? silentLogger();
  let closeControl: (() => Promise<void>) | null = null;
  try {
    const local: EngineOverride = {
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.pool ? { pool: options.pool } : {}),
    };
    const engines = await buildEngineSet(config, {
      overrides: { local, ...(options.engines ?? {}) },
      ...(options.inlineJobsForBenchmark ? { inlineJobsForBenchmark: true } : {}),
    });
    const runtime = engines[0]!.runtime ?? remoteRuntimeInfo(engines[0]!.rt);
    const { state, dropped } = await loadRegistry(paths);
    if (dropped.length) logger.warn({ dropped }, 'registry entries with invalid ids were dropped');
    // A rootful runtime maps the container's uid 1000 to the host's: hand it its directories.
    const containerUid = process.getuid?.() === 0 && !runtime.rootless ? 1000 : null;
    const apiGate =
      options.apiGate ??
      new ProxyGate({
        sessionsDir: config.sessionsDir,
        upstream: config.apiBaseUrl,
        credentialsPath: config.credentialsPath,
        proxyOptions: proxyOptionsFor(config),
        socketOwner: containerUid === null ? null : { uid: containerUid, gid: containerUid },
        ...(options.env ? { env: options.env } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      });
    const localRuntimes = engines.flatMap((e) => (e.runtime && !e.remote ? [e.runtime] : []));
    const notifier = new Notifier({
      url: config.notifyWebhookUrl,
      hooksToken: config.hooksToken,
      openclawConfigPath: config.openclawConfigPath,
      logger,
    });
    await notifier.ready();
    const supervisor = new Supervisor({
      notifier,
      runtimeDir: await stageContainerRuntime(config.sessionsDir),
      config,
      runtime,
      engines,
      ownerId: ownerIdFor(config.sessionsDir),
      paths,
      state,
      apiGate,
      containerUid,
      logger,
      ...(config.requireLimits
        ? { preflight: () => localRuntimes.forEach((r) => assertLimitsEnforced(r)) }
        : {}),
      ...(options.registryWriter ? { registryWriter: options.registryWriter } : {}),
      ...(options.timing ? { timing: options.timing } : {}),
      onClose: async () => {
        await closeControl?.();
        await lock.release();
        await options.afterClose?.(supervisor);
      },
    });
    if (options.serveControl !== false) {
      const control = await serveControl(supervisor, paths.controlSocket, logger);
      supervisor.control = control;
      closeControl = () => control.close();
    }
    if (!options.skipRecovery) {
      await supervisor.recover();
      supervisor.resendNotifications();
    }
    supervisor.startIdleCleanup();
    supervisor.startEngineProbes();
    return supervisor;
  } catch (error) {
    await closeControl?.().catch(() => undefined);
    await lock.release();
    throw error;
  }
}

/** What the supervisor reports of a remote engine it has not asked anything. */
function remoteRuntimeInfo(rt: RuntimeSpec): RuntimeInfo {
  return {
    kind: rt.kind === 'docker' ? 'docker' : 'podman',
    command: rt.command,
    version: 'remote',
    ociRuntime: null,
    rootless: false,
    cgroupVersion: 'unknown',
    logDriver: null,
    globalArgs: [...rt.globalArgs],
    ...(rt.env ? { env: { ...rt.env } } : {}),
  };
}

function isResolved(input: ConfigInput | ResolvedConfig): input is ResolvedConfig {
  return (input as ResolvedConfig).resolved === true;
}
