/**
 * The runtime files' volume on Kubernetes: a ConfigMap (what a job's Pod mounts read-only at
 * /opt/claude-pod, kubernetes-manifest.ts), written from the same tar stream the other engines
 * copy into a volume. A ConfigMap holds flat files only, written at once (no partial state): the
 * completion marker is one more key, as it is one more file elsewhere.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CoreV1Api } from '@kubernetes/client-node';
import tarFs from 'tar-fs';
import { COMPLETE_MARKER } from './cli-volumes.js';
import { DEFAULT_CALL_TIMEOUT_MS, RuntimeCallError } from './engine.js';
import { callError, isConflict, isNotFound, withTimeout } from './kubernetes-client.js';
import { runtimeConfigMap } from './kubernetes-manifest.js';

/** What a ConfigMap can hold (the API's limit is 1 MiB for the whole object). */
const MAX_BYTES = 900 * 1024;

/** The tar stream's regular files by name (a sub-directory or any other entry is refused). */
async function flatFiles(tar: Readable): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'cpod-runtime-cm-'));
  try {
    await pipeline(tar, tarFs.extract(dir));
    const files: Record<string, string> = {};
    let bytes = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile()) {
        throw new RuntimeCallError('create configmap', `${entry.name}: a ConfigMap holds files only`);
      }
      files[entry.name] = await readFile(join(dir, entry.name), 'utf8');
      bytes += Buffer.byteLength(files[entry.name]!);
    }
    if (bytes > MAX_BYTES) {
      throw new RuntimeCallError('create configmap', `${bytes} bytes do not fit in a ConfigMap`);
    }
    return files;
  } catch (error) {
    throw callError('create configmap', error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function loadConfigMap(
  core: CoreV1Api,
  namespace: string,
  name: string,
  tar: Readable,
  labels: Record<string, string>,
  markComplete: boolean,
): Promise<void> {
  const files = await flatFiles(tar);
  if (markComplete) files[COMPLETE_MARKER] = 'ok\n';
  const body = runtimeConfigMap(name, namespace, files, labels);
  await withTimeout(
    'create configmap',
    core.createNamespacedConfigMap({ namespace, body }).catch(async (error: unknown) => {
      if (!isConflict(error)) throw callError('create configmap', error);
      // It exists: replaced, as a volume's content is.
      await core.replaceNamespacedConfigMap({ name, namespace, body }).catch((e: unknown) => {
        throw callError('replace configmap', e);
      });
    }),
    DEFAULT_CALL_TIMEOUT_MS,
  );
}

export async function configMapComplete(core: CoreV1Api, namespace: string, name: string): Promise<boolean> {
  try {
    const cm = await withTimeout(
      'read configmap',
      core.readNamespacedConfigMap({ name, namespace }),
      DEFAULT_CALL_TIMEOUT_MS,
    );
    return cm.data?.[COMPLETE_MARKER] !== undefined;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw callError('read configmap', error);
  }
}

export async function removeConfigMap(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  await withTimeout(
    'delete configmap',
    core.deleteNamespacedConfigMap({ name, namespace }).catch((error: unknown) => {
      if (!isNotFound(error)) throw callError('delete configmap', error);
    }),
    DEFAULT_CALL_TIMEOUT_MS,
  );
}
