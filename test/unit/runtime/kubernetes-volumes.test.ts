/**
 * The Kubernetes volume store (a session's PVC, copied in and out through a helper Pod's exec)
 * against the loopback API server (test/fixtures/kube-api-server.ts): every request is checked
 * against the API's paths, query parameters and models, and the helper's execs run the real
 * `sh`/`tar` of this host on a directory standing for the PVC. No cluster is reachable here: a
 * real kubelet, PVC provisioning and the exec WebSocket of a real API server are unproven
 * (docs/scaling.md).
 */
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMPLETE_MARKER } from '../../../src/runtime/cli-volumes.js';
import { runtimeConfigMap, sessionClaim } from '../../../src/runtime/kubernetes-manifest.js';
import { KubernetesVolumeStore } from '../../../src/runtime/kubernetes-volumes.js';
import { LABEL_MANAGED, LABEL_OWNER, LABEL_SESSION } from '../../../src/runtime/labels.js';
import { extractReplacing, packDir } from '../../../src/runtime/workspace-tar.js';
import type { KubeSpec } from '../../../src/shared/protocol.js';
import { KubeApiServer } from '../../fixtures/kube-api-server.js';

const TOKEN = 'loopback-bearer';
const PVC = 'cpod-ownerkube01-0123456789abcdef-pvc';
const labels = { [LABEL_MANAGED]: 'true', [LABEL_OWNER]: 'ownerkube01', [LABEL_SESSION]: 'sess-k1' };
const opts = { labels, image: 'localhost/claude-pod:test' };
const ws = { volume: PVC, subPath: 'workspace' };
const plain = (o: unknown) => JSON.parse(JSON.stringify(o)) as unknown;

describe('Kubernetes volume store against a loopback API server', () => {
  let server: KubeApiServer;
  let dir: string;
  let kube: KubeSpec;
  let store: KubernetesVolumeStore;

  beforeEach(async () => {
    server = new KubeApiServer(TOKEN);
    await server.start();
    dir = await mkdtemp(join(tmpdir(), 'cpod-kube-vol-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, server.kubeconfig());
    kube = { kubeconfig, namespace: 'claude-pod', workspaceSize: '3Gi', imagePullPolicy: 'IfNotPresent' };
    store = new KubernetesVolumeStore({
      kind: 'kubernetes',
      command: '',
      globalArgs: [],
      remote: true,
      kube,
    });
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const calls = (from = 0) =>
    server.requests
      .slice(from)
      .map((r) => `${r.method} ${r.path.replace(/claude-pod-helper-[0-9a-f]+/, 'HELPER')}`);

  it('load then save: the PVC, a contained helper Pod, a tar round trip through exec, the helper deleted', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'sub', 'deeper'), { recursive: true });
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    await writeFile(join(src, 'bin.dat'), binary);
    await writeFile(join(src, 'sub', 'deeper', 'note.txt'), 'hello €\n');
    await symlink('sub/deeper/note.txt', join(src, 'link'));
    // What the PVC held before: replaced, not merged; the other sub-path is left alone.
    const pvcDir = server.claimDir(PVC);
    await mkdir(join(pvcDir, 'workspace'), { recursive: true });
    await writeFile(join(pvcDir, 'workspace', 'stale.txt'), 'old');
    await mkdir(join(pvcDir, 'claude'));
    await writeFile(join(pvcDir, 'claude', 'keep.jsonl'), '{}');
    server.claims.set(PVC, {}); // it exists already: the create is answered 409

    await store.load(ws, packDir(src), opts);
    expect(calls()).toEqual([
      'POST /api/v1/namespaces/claude-pod/persistentvolumeclaims',
      'POST /api/v1/namespaces/claude-pod/pods',
      'GET /api/v1/namespaces/claude-pod/pods',
      'GET /api/v1/namespaces/claude-pod/pods/HELPER/exec',
      'DELETE /api/v1/namespaces/claude-pod/pods/HELPER',
    ]);
    expect(await readFile(join(pvcDir, 'workspace', 'bin.dat'))).toEqual(binary);
    expect(await readFile(join(pvcDir, 'workspace', 'sub', 'deeper', 'note.txt'), 'utf8')).toBe('hello €\n');
    expect(await readlink(join(pvcDir, 'workspace', 'link'))).toBe('sub/deeper/note.txt');
    await expect(readFile(join(pvcDir, 'workspace', 'stale.txt'))).rejects.toThrow();
    await expect(readFile(join(pvcDir, 'workspace', COMPLETE_MARKER))).rejects.toThrow();
    expect(await readFile(join(pvcDir, 'claude', 'keep.jsonl'), 'utf8')).toBe('{}');

    // The helper: the job Pods' containment, the PVC mounted, labels for reaping.
    const helper = server.created.at(-1)!;
    expect(helper.metadata?.labels).toEqual({
      [LABEL_MANAGED]: 'true',
      'io.claude-pod.helper': 'ownerkube01',
    });
    expect(helper.spec).toMatchObject({
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      volumes: expect.arrayContaining([{ name: 'session', persistentVolumeClaim: { claimName: PVC } }]),
    });
    expect(helper.spec?.activeDeadlineSeconds).toBeGreaterThan(0);
    const c = helper.spec!.containers[0]!;
    expect(c.image).toBe('localhost/claude-pod:test');
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources?.limits).toEqual(c.resources?.requests);
    expect(c.resources?.limits?.memory).toBeTruthy();
    expect(server.pods.size).toBe(0);

    // A new PVC: created with the session's labels and the KubeSpec's size.
    const other = { volume: 'cpod-ownerkube01-fedcba9876543210-pvc', subPath: 'workspace' };
    await store.load(other, packDir(src), opts);
    const created = server.requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/persistentvolumeclaims'),
    );
    expect(created.at(-1)?.body).toEqual(plain(sessionClaim(other.volume, kube, labels)));
    expect(created.at(-1)?.body).toMatchObject({
      metadata: { labels },
      spec: { resources: { requests: { storage: '3Gi' } } },
    });

    // save: `tar -c` of the sub-path back into a directory here.
    const from = server.requests.length;
    const back = join(dir, 'back');
    const { tar, done } = await store.save(ws, opts);
    await Promise.all([extractReplacing(tar, back), done]);
    expect(await readFile(join(back, 'bin.dat'))).toEqual(binary);
    expect(await readFile(join(back, 'sub', 'deeper', 'note.txt'), 'utf8')).toBe('hello €\n');
    expect(await readlink(join(back, 'link'))).toBe('sub/deeper/note.txt');
    expect(calls(from)).toEqual([
      'POST /api/v1/namespaces/claude-pod/pods',
      'GET /api/v1/namespaces/claude-pod/pods',
      'GET /api/v1/namespaces/claude-pod/pods/HELPER/exec',
      'DELETE /api/v1/namespaces/claude-pod/pods/HELPER',
    ]);
    const del = server.requests.at(-1)!;
    expect(del.query.gracePeriodSeconds).toEqual(['0']);
    expect(server.pods.size).toBe(0);
    expect(server.violations).toEqual([]);
  });

  it('complete: no PVC, a PVC without the marker, then one loaded with markComplete; remove deletes the PVC', async () => {
    const claude = { volume: PVC, subPath: 'claude' };
    expect(await store.complete(claude, opts)).toBe(false);
    expect(calls()).toEqual([`GET /api/v1/namespaces/claude-pod/persistentvolumeclaims/${PVC}`]);

    const src = join(dir, 'claude');
    await mkdir(src);
    await writeFile(join(src, 'session.jsonl'), '{}\n');
    await store.load(claude, packDir(src), opts);
    expect(await store.complete(claude, opts)).toBe(false);

    await store.load(claude, packDir(src), { ...opts, markComplete: true });
    expect(await readFile(join(server.claimDir(PVC), 'claude', COMPLETE_MARKER), 'utf8')).toBe('ok\n');
    expect(await store.complete(claude, opts)).toBe(true);
    expect(server.execs.at(-1)?.command).toEqual(['test', '-f', `/workspace/claude/${COMPLETE_MARKER}`]);
    expect(server.pods.size).toBe(0);

    await store.remove(PVC);
    expect(server.claims.has(PVC)).toBe(false);
    expect(server.requests.at(-1)).toMatchObject({
      method: 'DELETE',
      path: `/api/v1/namespaces/claude-pod/persistentvolumeclaims/${PVC}`,
    });
    await store.remove(PVC); // absent: not an error
    expect(await store.complete(claude, opts)).toBe(false);
    expect(server.violations).toEqual([]);
  });

  it('the runtime files: a ConfigMap (what the job Pod mounts), replaced, marked, removed; no helper', async () => {
    const runtime = { volume: 'cpod-runtime-abc123' };
    const src = join(dir, 'runtime');
    await mkdir(src);
    await writeFile(join(src, 'entrypoint.sh'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
    await writeFile(join(src, 'forwarder.mjs'), 'export {};\n');
    expect(await store.complete(runtime, opts)).toBe(false);
    await store.load(runtime, packDir(src, { keepModes: true }), opts);
    expect(server.configMaps.get(runtime.volume)).toEqual(
      plain(
        runtimeConfigMap(
          runtime.volume,
          'claude-pod',
          { 'entrypoint.sh': '#!/bin/sh\nexec "$@"\n', 'forwarder.mjs': 'export {};\n' },
          labels,
        ),
      ),
    );
    expect(await store.complete(runtime, opts)).toBe(false);
    await store.load(runtime, packDir(src, { keepModes: true }), { ...opts, markComplete: true });
    expect(calls().filter((c) => c.startsWith('PUT'))).toEqual([
      'PUT /api/v1/namespaces/claude-pod/configmaps/cpod-runtime-abc123',
    ]);
    expect(await store.complete(runtime, opts)).toBe(true);
    await store.remove(runtime.volume);
    expect(server.configMaps.size).toBe(0);
    await store.remove(runtime.volume); // absent: not an error
    expect(server.created).toEqual([]);
    expect(server.claims.size).toBe(0);

    // A ConfigMap holds files only.
    await mkdir(join(src, 'sub'));
    await expect(store.load(runtime, packDir(src), opts)).rejects.toMatchObject({ code: 'RUNTIME_FAILED' });
    expect(server.configMaps.size).toBe(0);
    expect(server.violations).toEqual([]);
  });

  it('a failed copy: RUNTIME_FAILED, and the helper Pod is deleted all the same', async () => {
    // tar refuses what is not a tar stream.
    await expect(store.load(ws, Readable.from([Buffer.alloc(4096, 7)]), opts)).rejects.toMatchObject({
      code: 'RUNTIME_FAILED',
    });
    expect(server.execs.at(-1)?.exitCode).not.toBe(0);
    expect(server.pods.size).toBe(0);
    expect(calls().at(-1)).toBe('DELETE /api/v1/namespaces/claude-pod/pods/HELPER');

    // The stream to copy fails here (a file unreadable): the exec is ended, not left waiting.
    const broken = new Readable({ read() {} });
    broken.push(Buffer.alloc(512));
    setTimeout(() => broken.destroy(new Error('EACCES: the file went away')), 200);
    await expect(store.load(ws, broken, opts)).rejects.toMatchObject({
      code: 'RUNTIME_FAILED',
      message: expect.stringContaining('EACCES') as unknown,
    });
    expect(server.pods.size).toBe(0);

    // An exec whose connection drops: no exit status, so no answer.
    server.dropExec = (command) => command[0] === 'tar';
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'a');
    const before = server.requests.length;
    const saved = await store.save(ws, opts);
    const readErr = new Promise((resolve) => saved.tar.on('error', resolve));
    saved.tar.resume();
    await expect(saved.done).rejects.toMatchObject({ code: 'RUNTIME_FAILED' });
    expect(await readErr).toMatchObject({ code: 'RUNTIME_FAILED' });
    expect(server.pods.size).toBe(0);
    expect(calls(before).at(-1)).toBe('DELETE /api/v1/namespaces/claude-pod/pods/HELPER');

    // save of a sub-path that is not there: tar fails, the stream errors, the helper goes.
    server.dropExec = () => false;
    const missing = await store.save({ volume: PVC, subPath: 'nothing-here' }, opts);
    missing.tar.on('error', () => undefined);
    await expect(missing.done).rejects.toMatchObject({ code: 'RUNTIME_FAILED' });
    expect(server.pods.size).toBe(0);
    expect(server.violations).toEqual([]);
  });

  it('an engine that does not answer: RUNTIME_FAILED (unknown), never "absent" or "incomplete"', async () => {
    await server.close();
    await expect(store.complete(ws, opts)).rejects.toMatchObject({ code: 'RUNTIME_FAILED' });
    await expect(store.remove(PVC)).rejects.toMatchObject({ code: 'RUNTIME_FAILED' });
    await expect(store.load(ws, Readable.from([Buffer.alloc(1024)]), opts)).rejects.toMatchObject({
      code: 'RUNTIME_FAILED',
    });
    server = new KubeApiServer(TOKEN); // for afterEach
    await server.start();
  });
});
