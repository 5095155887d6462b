import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { detectRuntime } from '../runtime/detect.js';
import type { RuntimeInfo } from '../runtime/runtime-info.js';
import { parseConfig, type ConfigInput, type ResolvedConfig } from '../shared/config.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import type { ApiGate } from './api-gate.js';
import { Notifier } from './notifier.js';
import { ownerIdFor } from './owner.js';
import { ProxyGate } from './proxy-gate.js';
import { RegistryFile } from './registry-file.js';
import { acquireStateLock } from './state-lock.js';
import { stageContainerRuntime } from './stage-runtime.js';
import { Supervisor } from './supervisor.js';

export interface CreateSupervisorOptions {
  logger?: Logger;
  /** Skip runtime detection (tests, benchmarks with a fake runtime). */
  runtime?: RuntimeInfo;
  /** Replace the model-API proxy (tests). */
  apiGate?: ApiGate;
  /** Environment to read ANTHROPIC_API_KEY from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Do not reconcile with the runtime on start (benchmarks). */
  skipRecovery?: boolean;
  /** Benchmark baseline only: parse and write on the main thread (the design we rejected). */
  inlineJobsForBenchmark?: boolean;
}

/**
 * Creates a supervisor on the config's directories: takes the directory lock, finds the
 * runtime, loads the registry and reconciles it with the containers that exist.
 */
export async function createSupervisor(
  input: ConfigInput | ResolvedConfig = {},
  options: CreateSupervisorOptions = {},
): Promise<Supervisor> {
  const config = isResolved(input) ? input : parseConfig(input);
  await mkdir(config.sessionsDir, { recursive: true });
  await mkdir(config.workspacesDir, { recursive: true });
  const release = await acquireStateLock(config.sessionsDir);
  try {
    const runtime =
      options.runtime ?? (await detectRuntime({ runtime: config.runtime, ociRuntime: config.ociRuntime }));
    const state = await RegistryFile.load(join(config.sessionsDir, 'registry.json'));
    const apiGate =
      options.apiGate ??
      new ProxyGate({
        sessionsDir: config.sessionsDir,
        upstream: config.apiBaseUrl,
        credentialsPath: config.credentialsPath,
        ...(options.env ? { env: options.env } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      });
    // A rootful runtime maps the container's uid 1000 to the host's: hand it its directories.
    const containerUid = process.getuid?.() === 0 && !runtime.rootless ? 1000 : null;
    const notifier = new Notifier({
      url: config.notifyWebhookUrl,
      hooksToken: config.hooksToken,
      openclawConfigPath: config.openclawConfigPath,
      logger: options.logger ?? silentLogger(),
    });
    const supervisor = new Supervisor({
      notifier,
      runtimeDir: await stageContainerRuntime(config.sessionsDir),
      config,
      runtime,
      ownerId: ownerIdFor(config.sessionsDir),
      state,
      apiGate,
      containerUid,
      onClose: release,
      ...(options.inlineJobsForBenchmark ? { inlineJobsForBenchmark: true } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    if (!options.skipRecovery) await supervisor.recover();
    supervisor.startIdleCleanup();
    return supervisor;
  } catch (error) {
    await release();
    throw error;
  }
}

function isResolved(input: ConfigInput | ResolvedConfig): input is ResolvedConfig {
  return (input as ResolvedConfig).resolved === true;
}
