/**
 * The Kubernetes volume store's helper Pod, run for real: the manifest `helperPod` generates is
 * played with `podman kube play` (its PVC becomes a podman volume), and the store's own commands
 * (`loadCommand`, `saveCommand`, `completeCommand`) run in it through `podman exec` with a tar
 * stream on stdin and stdout, as the store runs them through the exec API: the image has what they
 * need, they work as the helper's non-root user on a read-only root, and the containment holds.
 * What podman cannot show: the exec API's WebSocket, PVC provisioning, a kubelet (docs/scaling.md).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETE_MARKER } from '../../../src/runtime/cli-volumes.js';
import { detectRuntime } from '../../../src/runtime/detect.js';
import { HELPER_CONTAINER, helperPod } from '../../../src/runtime/kubernetes-manifest.js';
import { completeCommand, loadCommand, saveCommand } from '../../../src/runtime/kubernetes-volumes.js';
import { DEFAULT_ULIMITS } from '../../../src/runtime/run-args.js';
import { extractReplacing, packDir } from '../../../src/runtime/workspace-tar.js';
import { parseConfig } from '../../../src/shared/config.js';
import type { KubeSpec } from '../../../src/shared/protocol.js';
import { requireOrSkip } from '../helpers/remote-engines.js';
import { TEST_RUN_LABEL } from '../helpers/runtime.js';

const podman = await detectRuntime({ runtime: 'podman', ociRuntime: 'auto' }).catch(() => null);
const image = parseConfig({}).image;
const hasImage =
  podman !== null &&
  (await execa(podman.command, ['image', 'exists', image], { reject: false })).exitCode === 0;
const skip = requireOrSkip('podman with the agent image', hasImage);

const runId = randomBytes(4).toString('hex');
const kube: KubeSpec = { namespace: 'claude-pod', workspaceSize: '1Gi', imagePullPolicy: 'Never' };
const claim = `cpod-kubehelper-${runId}-pvc`;
const podName = `claude-pod-helper-${runId}`;
const container = `${podName}-${HELPER_CONTAINER}`;
const WS = '/workspace/workspace';

describe.skipIf(skip !== '')(`the Kubernetes volume helper under podman kube play${skip}`, () => {
  let dir: string;
  let playFile: string | undefined;
  const podmanCall = (
    args: string[],
    opts: { env?: Record<string, string>; input?: NodeJS.ReadableStream } = {},
  ) =>
    execa(podman!.command, [...podman!.globalArgs, ...args], {
      reject: false,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.input ? { input: opts.input as never } : {}),
    });
  const exec = (command: string[], input?: NodeJS.ReadableStream) =>
    podmanCall(['exec', ...(input ? ['-i'] : []), container, ...command], input ? { input } : {});

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'claude-pod-kube-helper-'));
    const pod = helperPod({
      name: podName,
      claim,
      image,
      kube,
      labels: {
        'io.claude-pod.managed': 'true',
        'io.claude-pod.helper': 'kubehelper',
        [TEST_RUN_LABEL]: runId,
      },
      deadlineSeconds: 600,
    });
    playFile = join(dir, 'helper.yaml');
    await writeFile(playFile, JSON.stringify(pod));
    // The runc here refuses podman's default rlimits (as for every job: run-args.ts).
    const conf = join(dir, 'containers.conf');
    await writeFile(
      conf,
      `[containers]\ndefault_ulimits = [${DEFAULT_ULIMITS.map((u) => JSON.stringify(u)).join(', ')}]\n`,
    );
    const played = await podmanCall(['kube', 'play', '--network', 'none', playFile], {
      env: { CONTAINERS_CONF: conf },
    });
    expect(played.exitCode, String(played.stderr)).toBe(0);
    const running = await podmanCall(['container', 'inspect', '-f', '{{.State.Running}}', container]);
    expect(String(running.stdout).trim(), String(running.stderr)).toBe('true');
  }, 180_000);

  afterAll(async () => {
    if (playFile) await podmanCall(['kube', 'down', playFile]);
    await podmanCall(['volume', 'rm', '-f', claim]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the helper is contained: non-root, no capabilities, no_new_privs, seccomp, read-only root', async () => {
    const r = await exec([
      'sh',
      '-c',
      `id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; awk '$2 == "/" { print $4 }' /proc/mounts`,
    ]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = String(r.stdout);
    expect(out.split('\n')[0]).toBe('1000');
    expect(out).toMatch(/CapEff:\s+0000000000000000/);
    expect(out).toMatch(/CapBnd:\s+0000000000000000/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/Seccomp:\s+2/);
    // The root's mount options (the uid alone could not write to / anyway).
    expect(out.trim().split('\n').at(-1)?.split(',')).toContain('ro');
  });

  it("the store's commands: load replaces the sub-path, complete sees the marker, save round-trips", async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'sub', 'deeper'), { recursive: true });
    const binary = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13) % 256));
    await writeFile(join(src, 'bin.dat'), binary);
    await writeFile(join(src, 'sub', 'deeper', 'note.txt'), 'hello €\n');
    await symlink('sub/deeper/note.txt', join(src, 'link'));
    const stale = await exec([
      'sh',
      '-c',
      `mkdir -p ${WS} /workspace/claude && echo old > ${WS}/stale && echo k > /workspace/claude/keep`,
    ]);
    expect(stale.exitCode, String(stale.stderr)).toBe(0);

    const load = await exec(loadCommand(WS, false), packDir(src));
    expect(load.exitCode, String(load.stderr)).toBe(0);
    expect((await exec(completeCommand(WS))).exitCode).toBe(1);
    const marked = await exec(loadCommand(WS, true), packDir(src));
    expect(marked.exitCode, String(marked.stderr)).toBe(0);
    expect((await exec(completeCommand(WS))).exitCode).toBe(0);
    const listing = await exec([
      'sh',
      '-c',
      `ls -A ${WS}; cat /workspace/claude/keep; stat -c %u ${WS}/bin.dat`,
    ]);
    expect(String(listing.stdout).split('\n')).toEqual([
      COMPLETE_MARKER,
      'bin.dat',
      'link',
      'sub',
      'k',
      '1000',
    ]);

    const back = join(dir, 'back');
    const child = execa(podman!.command, [...podman!.globalArgs, 'exec', container, ...saveCommand(WS)], {
      reject: false,
      stdin: 'ignore',
      buffer: { stdout: false, stderr: true },
      encoding: 'buffer',
    });
    const [, saved] = await Promise.all([extractReplacing(child.stdout!, back), child]);
    expect(saved.exitCode).toBe(0);
    expect(await readFile(join(back, 'bin.dat'))).toEqual(binary);
    expect(await readFile(join(back, 'sub', 'deeper', 'note.txt'), 'utf8')).toBe('hello €\n');
    expect(await readlink(join(back, 'link'))).toBe('sub/deeper/note.txt');
    await expect(readFile(join(back, 'stale'))).rejects.toThrow();

    // Not a tar stream: the load fails (the store then reports RUNTIME_FAILED).
    const bad = await exec(
      loadCommand(WS, false),
      (await import('node:stream')).Readable.from([Buffer.alloc(4096, 7)]),
    );
    expect(bad.exitCode).not.toBe(0);
  });
});
