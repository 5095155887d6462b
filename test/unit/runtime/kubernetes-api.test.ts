/**
 * The Kubernetes backend's API calls — create (Secret, NetworkPolicy, Pod), watch, attach (the
 * prompt on stdin), log follow, exec, read, list by label, delete — made by the official client
 * against a loopback API server that checks each request against the API (its paths, query
 * parameters and the bodies' models: test/fixtures/kube-api-server.ts). No cluster is reachable
 * here: what a real API server and kubelet do beyond this is unproven (docs/scaling.md).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesEngine } from '../../../src/runtime/kubernetes-engine.js';
import { jobNetworkPolicy, podManifest, tokenSecret } from '../../../src/runtime/kubernetes-manifest.js';
import { LABEL_OWNER } from '../../../src/runtime/labels.js';
import { parseConfig } from '../../../src/shared/config.js';
import type { ContainerSpec, KubeSpec, RuntimeSpec } from '../../../src/shared/protocol.js';
import { containerSpec } from '../../../src/supervisor/job-spec.js';
import type { JobRecord } from '../../../src/supervisor/records.js';
import { remoteJobParts } from '../../../src/supervisor/remote-job.js';
import { KubeApiServer } from '../../fixtures/kube-api-server.js';

const TOKEN = 'loopback-bearer';

function jobSpec(kube: KubeSpec, prompt: string): ContainerSpec {
  const runtime: RuntimeSpec = { kind: 'kubernetes', command: '', globalArgs: [], remote: true, kube };
  const base = {
    config: parseConfig({}),
    runtime,
    ownerId: 'ownerkube01',
    job: {
      jobId: 'job-k1',
      sessionId: 'sess-k1',
      prompt,
      resumeClaudeSessionId: null,
    } as unknown as JobRecord,
    containerName: 'claude-pod-job-k1',
    outputPath: '/nowhere/out',
    workspaceDir: '/nowhere/ws',
    claudeDir: '/nowhere/claude',
    runtimeDir: '/nowhere/.runtime-abc123',
    mode: 'run' as const,
    api: { socketDir: '/nowhere/proxy', token: 'job-token-k1', kind: 'api-key' as const },
  };
  return containerSpec({ ...base, remote: remoteJobParts(base, { sharedPaths: [] }) });
}

const collect = (s: NodeJS.ReadableStream) => {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
};

describe('Kubernetes backend against a loopback API server', () => {
  let server: KubeApiServer;
  let dir: string;
  let kube: KubeSpec;
  let engine: KubernetesEngine;

  beforeEach(async () => {
    server = new KubeApiServer(TOKEN);
    await server.start();
    dir = await mkdtemp(join(tmpdir(), 'cpod-kube-api-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, server.kubeconfig());
    kube = { kubeconfig, namespace: 'claude-pod', workspaceSize: '1Gi', imagePullPolicy: 'IfNotPresent' };
    engine = new KubernetesEngine({ kind: 'kubernetes', command: '', globalArgs: [], remote: true, kube });
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a job: create, watch, prompt through attach, log follow, inspect, list by label, exec, kill, delete', async () => {
    // A multi-byte character split across two chunks of the log: bytes, not text.
    const euro = Buffer.from('€');
    server.nextLog = [
      Buffer.from('{"type":"system"}\n'),
      Buffer.concat([Buffer.from('x'), euro.subarray(0, 1)]),
      euro.subarray(1),
    ];
    const spec = jobSpec(kube, 'the prompt, never in argv');
    // The session's PVC exists before its job's Pod (the volume store seeds it first).
    for (const m of spec.mounts) if (!m.source.startsWith('cpod-runtime-')) server.claims.set(m.source, {});
    const stream = engine.run(spec);
    const out = collect(stream.stdout);
    const end = await stream.done;
    expect(end.exitCode, end.stderrTail).toBe(0);
    expect(out()).toEqual(Buffer.concat(server.nextLog));

    // What reached the server is what the backend generated: no field was dropped by the
    // client's serializer for being unknown to the API.
    const sent = (path: string) =>
      server.requests.find((r) => r.method === 'POST' && r.path.endsWith(path))?.body;
    const plain = (o: unknown) => JSON.parse(JSON.stringify(o)) as unknown;
    expect(sent('/pods')).toEqual(plain(podManifest(spec, { kube })));
    expect(sent('/networkpolicies')).toEqual(plain(jobNetworkPolicy(spec, kube.namespace, null)));
    expect(sent('/secrets')).toEqual(plain(tokenSecret(spec, kube.namespace)));
    const pod = server.pods.get(spec.name)!;
    expect(pod.stdin).toBe('the prompt, never in argv');
    expect(JSON.stringify(pod.pod)).not.toContain('the prompt');
    expect(JSON.stringify(pod.pod)).not.toContain('job-token-k1');
    expect(server.secrets.get(`${spec.name}-token`)?.stringData).toEqual({
      ANTHROPIC_API_KEY: 'job-token-k1',
    });
    const policy = server.policies.get(`${spec.name}-egress`) as {
      spec: { egress: unknown[]; policyTypes: string[] };
    };
    expect(policy.spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'], egress: [] });

    expect(await engine.inspect(spec.name)).toMatchObject({ status: 'exited', exitCode: 0, running: false });
    expect((await engine.list({ [LABEL_OWNER]: 'ownerkube01' })).map((p) => p.name)).toEqual([spec.name]);
    expect(await engine.list({ [LABEL_OWNER]: 'someone-else' })).toEqual([]);

    // A re-attach follows the log from its first byte again.
    const again = engine.follow(spec.name);
    const outAgain = collect(again.stdout);
    expect((await again.done).exitCode).toBe(0);
    expect(outAgain()).toEqual(Buffer.concat(server.nextLog));

    // exec: stdin and stdout streamed (the tunnel's channel), exit codes from the final status.
    const cat = engine.exec(spec.name, ['cat']);
    const catOut = collect(cat.stdout);
    cat.stdin.end('ping');
    expect((await cat.done).exitCode).toBe(0);
    expect(catOut().toString()).toBe('ping');
    const fail = engine.exec(spec.name, ['false']);
    fail.stdin.end();
    expect((await fail.done).exitCode).toBe(1);

    // Cancel: SIGINT to the container's first process through exec (while it runs).
    expect(await engine.kill(spec.name, 'SIGINT')).toBe('not-running');
    pod.pod.status = {
      phase: 'Running',
      containerStatuses: [
        { name: 'agent', image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } },
      ],
    };
    expect(await engine.kill(spec.name, 'SIGINT')).toBe('signalled');
    expect(server.execs.at(-1)).toMatchObject({ pod: spec.name, command: ['kill', '-s', 'INT', '1'] });

    await engine.remove(spec.name);
    expect(server.pods.size + server.secrets.size + server.policies.size).toBe(0);
    await engine.remove(spec.name); // absent: not an error
    expect(await engine.inspect(spec.name)).toBeNull();
    expect(await engine.kill(spec.name, 'SIGINT')).toBe('absent');

    const del = server.requests.find((r) => r.method === 'DELETE' && r.path.endsWith(`/pods/${spec.name}`));
    expect(del?.query.gracePeriodSeconds).toEqual(['0']);
    const calls = new Set(server.requests.map((r) => `${r.method} ${r.path.replace(spec.name, 'NAME')}`));
    expect(calls).toEqual(
      new Set([
        'POST /api/v1/namespaces/claude-pod/secrets',
        'POST /apis/networking.k8s.io/v1/namespaces/claude-pod/networkpolicies',
        'POST /api/v1/namespaces/claude-pod/pods',
        'GET /api/v1/namespaces/claude-pod/pods',
        'GET /api/v1/namespaces/claude-pod/pods/NAME/attach',
        'GET /api/v1/namespaces/claude-pod/pods/NAME/log',
        'GET /api/v1/namespaces/claude-pod/pods/NAME',
        'GET /api/v1/namespaces/claude-pod/pods/NAME/exec',
        'DELETE /api/v1/namespaces/claude-pod/pods/NAME',
        'DELETE /api/v1/namespaces/claude-pod/secrets/NAME-token',
        'DELETE /apis/networking.k8s.io/v1/namespaces/claude-pod/networkpolicies/NAME-egress',
      ]),
    );
    expect(server.violations).toEqual([]);
  });

  it('an engine that does not answer: RUNTIME_FAILED (unknown), never "absent"', async () => {
    await server.close();
    await expect(engine.inspect('claude-pod-job-k1', { timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'RUNTIME_FAILED',
    });
    await expect(engine.list({ [LABEL_OWNER]: 'x' }, { timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'RUNTIME_FAILED',
    });
    server = new KubeApiServer(TOKEN); // for afterEach
    await server.start();
  });

  it('the server rejects what the API would: unknown fields, a wrong kind, a missing token', async () => {
    // Raw requests: the client's serializer would drop an unknown field before it is sent.
    const post = (path: string, body: unknown, auth = true) =>
      fetch(`http://127.0.0.1:${server.port}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const body = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bad-pod' },
      spec: {
        containers: [{ name: 'agent', image: 'x', securityContext: { capabilitiez: { drop: ['ALL'] } } }],
      },
    };
    await post('/api/v1/namespaces/claude-pod/pods', body);
    expect(server.violations.join('\n')).toContain('capabilitiez');
    await post('/api/v1/namespaces/claude-pod/secrets', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 's' },
    });
    expect(server.violations.join('\n')).toContain('apiVersion/kind v1/Pod');
    await post('/api/v1/namespaces/claude-pod/pods', { ...body, metadata: { name: 'Not_A_Label' } }, false);
    expect(server.violations.join('\n')).toContain('is not a DNS label');
    expect(server.violations.join('\n')).toContain('no bearer token');
  });
});
