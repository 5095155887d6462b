import { createHash } from 'node:crypto';
import { basename, join, relative, isAbsolute } from 'node:path';
import { LABEL_MANAGED, LABEL_OWNER, LABEL_SESSION } from '../runtime/labels.js';
import type { Mount, RemoteJob, RuntimeSpec, SyncedVolume } from '../shared/protocol.js';
import type { ApiAccess } from './api-gate.js';
import type { RemoteStorage } from './engine-set.js';

/** Where the relay that the supervisor runs in a remote job's container listens (its /tmp). */
export const RELAY_SOCKET = '/tmp/.claude-pod-relay/api.sock';
export const LABEL_VOLUME = 'io.claude-pod.volume';

/** What changes for a job whose engine is elsewhere: its mounts, its environment, what to sync. */
export interface RemoteParts {
  mounts: Mount[];
  env: Record<string, string>;
  job: RemoteJob;
}

interface Args {
  runtime: RuntimeSpec;
  ownerId: string;
  job: { jobId: string; sessionId: string };
  workspaceDir: string;
  claudeDir: string;
  runtimeDir: string;
  api?: ApiAccess;
  /** On re-attach: the job's proxy socket directory, when the gate knows it. */
  apiSocketDir?: string;
  config: { image: string };
}

const short = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** A session's volume (PVC on Kubernetes): owner and session hashed into a name every engine accepts. */
export const sessionVolumeName = (
  ownerId: string,
  sessionId: string,
  what: 'ws' | 'claude' | 'pvc',
): string => `cpod-${ownerId.slice(0, 12)}-${short(sessionId)}-${what}`;

/** The runtime files' volume: named by their content hash (the staged directory's name). */
export const runtimeVolumeName = (runtimeDir: string): string =>
  `cpod-runtime-${basename(runtimeDir)
    .replace(/^\.runtime-/, '')
    .replace(/[^a-z0-9]/g, '')}`;

/** A host path as the engine's host sees it, when a shared path covers it; else null. */
export function sharedPath(storage: RemoteStorage, hostPath: string): string | null {
  for (const { host, engine } of storage.sharedPaths) {
    const rel = relative(host, hostPath);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return rel ? join(engine, rel) : engine;
  }
  return null;
}

/**
 * The mounts of a job on a remote engine: the workspace and Claude's transcripts in the session's
 * volumes (or bind mounts of a shared filesystem that covers them), the runtime files in their
 * volume, and no proxy socket: the container's forwarder connects to the relay the supervisor runs
 * inside it through the engine's exec channel (api-tunnel.ts).
 */
export function remoteJobParts(a: Args, storage: RemoteStorage): RemoteParts {
  const kube = a.runtime.kind === 'kubernetes';
  const labels = {
    [LABEL_MANAGED]: 'true',
    [LABEL_OWNER]: a.ownerId,
    [LABEL_SESSION]: a.job.sessionId,
  };
  const mounts: Mount[] = [];
  const volumes: SyncedVolume[] = [];
  const place = (hostDir: string, target: string, what: 'ws' | 'claude') => {
    const shared = kube ? null : sharedPath(storage, hostDir);
    if (shared) {
      mounts.push({ source: shared, target });
      return;
    }
    const volume = sessionVolumeName(a.ownerId, a.job.sessionId, kube ? 'pvc' : what);
    const subPath = kube ? (what === 'ws' ? 'workspace' : 'claude') : undefined;
    mounts.push({ source: volume, target, type: 'volume', ...(subPath ? { subPath } : {}) });
    volumes.push({ volume, ...(subPath ? { subPath } : {}), hostDir, direction: 'both' });
  };
  place(a.workspaceDir, '/workspace', 'ws');
  place(a.claudeDir, '/home/agent/.claude', 'claude');
  const runtimeVolume = runtimeVolumeName(a.runtimeDir);
  const sharedRuntime = kube ? null : sharedPath(storage, a.runtimeDir);
  mounts.push(
    sharedRuntime
      ? { source: sharedRuntime, target: '/opt/claude-pod', readonly: true }
      : { source: runtimeVolume, target: '/opt/claude-pod', readonly: true, type: 'volume' },
  );
  const socketDir = a.api?.socketDir ?? a.apiSocketDir;
  return {
    mounts,
    env: { CLAUDE_POD_API_SOCKET: RELAY_SOCKET, CLAUDE_POD_API_RELAY: '1' },
    job: {
      volumes,
      labels,
      runtimeVolume,
      runtimeDir: a.runtimeDir,
      apiSocket: socketDir ? join(socketDir, 'api.sock') : null,
      image: a.config.image,
    },
  };
}
