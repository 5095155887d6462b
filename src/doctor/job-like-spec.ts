import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerSpec } from '../runtime/engine.js';
import type { ResolvedConfig } from '../shared/config.js';
import type { RuntimeSpec } from '../shared/protocol.js';
import type { ApiAccess } from '../supervisor/api-gate.js';
import { emptyProgress } from '../supervisor/job-machine.js';
import { containerSpec } from '../supervisor/job-spec.js';
import type { JobRecord } from '../supervisor/records.js';
import { stageContainerRuntime } from '../supervisor/stage-runtime.js';

export interface JobLikeOptions {
  config: ResolvedConfig;
  runtime: RuntimeSpec;
  /** The container's name. */
  name: string;
  /** Replaces Claude Code's command; runs behind the job's own entrypoint. */
  command: string[];
  labels: Record<string, string>;
  /** A private scratch folder: the workspace, Claude's folder and the runtime folder go here. */
  dir: string;
  /** A real grant of the model-API proxy (default: an empty socket folder and an inert token). */
  api?: ApiAccess;
  /** Plain environment added to the job's (never a secret: it is in the argv). */
  env?: Record<string, string>;
  /** The container's stdin (default: none). */
  stdin?: string;
}

/**
 * A job's container exactly as the supervisor builds it (containerSpec: user, user namespace,
 * limits, tmpfs, network, mounts, environment, the staged entrypoint), with another command in
 * place of Claude Code. `doctor` probes with it, and the hardening and proxy tests run in it, so
 * what they check are the flags jobs really get.
 */
export async function jobLikeSpec(o: JobLikeOptions): Promise<ContainerSpec> {
  const workspaceDir = join(o.dir, 'workspace');
  const claudeDir = join(o.dir, 'claude');
  const api: ApiAccess = o.api ?? {
    socketDir: join(o.dir, 'proxy'),
    token: 'probe-token-not-a-secret',
    kind: 'api-key',
  };
  await Promise.all([workspaceDir, claudeDir, api.socketDir].map((d) => mkdir(d, { recursive: true })));
  // As the supervisor does (prepareSessionDirs): a rootful engine's container user gets its folders.
  if (process.getuid?.() === 0 && o.runtime.rootless !== true) {
    await Promise.all([workspaceDir, claudeDir].map((d) => chown(d, 1000, 1000)));
  }
  const now = Date.now();
  const job: JobRecord = {
    jobId: `job-probe-${now.toString(36)}`,
    sessionId: 'probe',
    prompt: '',
    phase: 'launching',
    status: 'pending',
    cancelRequested: false,
    resumeClaudeSessionId: null,
    createdAt: now,
    launchedAt: now,
    startedAt: null,
    endedAt: null,
    exitCode: null,
    error: null,
    progress: emptyProgress(),
    notified: false,
  };
  const spec = containerSpec({
    config: o.config,
    runtime: o.runtime,
    ownerId: 'probe',
    job,
    containerName: o.name,
    outputPath: join(o.dir, 'output.jsonl'),
    workspaceDir,
    claudeDir,
    mode: 'run',
    api,
    runtimeDir: await stageContainerRuntime(o.dir),
  });
  const { stdin: _prompt, ...withoutPrompt } = spec;
  return {
    ...withoutPrompt,
    labels: o.labels,
    env: { ...spec.env, ...(o.env ?? {}) },
    command: o.command,
    ...(o.stdin === undefined ? {} : { stdin: o.stdin }),
  };
}
