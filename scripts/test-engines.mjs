#!/usr/bin/env node
/**
 * The job-lifecycle integration tests (vitest project `engine`: test/integration/lifecycle and
 * the engine contract) on the engines besides rootful podman, which the main run covers:
 *
 *   docker           Docker Engine from Debian's docker.io: `claude-pod setup` with
 *                    "runtime": "docker" installs and starts it and copies the image podman built;
 *   podman-rootless  rootless podman as a created non-root user (claude-pod-ci): root creates the
 *                    user (subuids, /run/user/<uid>), `setup` prepares podman as that user
 *                    (storage on overlay, the OCI runtime), root copies the image into the user's
 *                    store, then vitest runs as the user (runuser, its own HOME and XDG_RUNTIME_DIR).
 *
 *   remote           the remote engines (project `remote`): a podman API service on a unix socket,
 *                    Docker Engine through DOCKER_HOST, two engines at once, the Kubernetes Pod
 *                    under `podman kube play`.
 *
 *   node scripts/test-engines.mjs [docker] [podman-rootless] [remote]   (default: all; run as root)
 *
 * Run after `npm run build` and a rootful `claude-pod setup` (scripts/bootstrap.mjs does both).
 * Writes each engine's outcome (set-up and test seconds, counts) to test-results/engines.json,
 * which bootstrap adds to its summary. Exits non-zero when an engine could not be prepared or a
 * test failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOTLESS_USER = process.env.CLAUDE_POD_ROOTLESS_USER ?? 'claude-pod-ci';
const VITEST = join(root, 'node_modules', 'vitest', 'vitest.mjs');

const log = (line) => process.stdout.write(`test-engines: ${line}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function run(command, args, { env = process.env, cwd = root } = {}) {
  const t0 = Date.now();
  log(`$ ${[command, ...args].join(' ')}`);
  const r = spawnSync(command, args, { cwd, stdio: 'inherit', env });
  const code = r.error ? 127 : (r.status ?? 1);
  if (r.error) log(`${command} could not be started: ${r.error.message}`);
  log(`exited ${code} after ${seconds(Date.now() - t0)}`);
  return code;
}

/** Counts in a vitest JSON report (as bootstrap's summarise does); null when unreadable. */
function counts(reportPath) {
  let report;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch {
    return null;
  }
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    if (tests.length === 0 && file.status === 'failed') c.failed += 1;
    for (const t of tests) {
      if (t.status === 'passed') c.passed += 1;
      else if (t.status === 'failed') c.failed += 1;
      else c.skipped += 1;
    }
  }
  return c;
}

function vitestArgs(reportPath, project = 'engine') {
  return [
    VITEST,
    'run',
    '--project',
    project,
    // Vite writes the bundled config next to node_modules otherwise: not writable for another user.
    '--configLoader',
    'runner',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${reportPath}`,
  ];
}

/** `claude-pod setup` for Docker Engine (installs and starts dockerd, copies the image); its seconds, or null. */
function setupDocker() {
  const config = join(root, 'test-results', 'engine-docker.config.json');
  mkdirSync(dirname(config), { recursive: true });
  writeFileSync(config, JSON.stringify({ runtime: 'docker' }) + '\n');
  const t0 = Date.now();
  const code = run(process.execPath, ['dist/cli/main.js', 'setup', '--config', config]);
  return { ok: code === 0, seconds: (Date.now() - t0) / 1000 };
}

async function docker() {
  const setup = setupDocker();
  if (!setup.ok) return { engine: 'docker', setupSeconds: setup.seconds, error: 'setup failed' };
  const setupSeconds = setup.seconds;
  const report = join(root, 'test-results', 'vitest-docker.json');
  rmSync(report, { force: true });
  const t1 = Date.now();
  const code = run(process.execPath, vitestArgs(report), {
    env: { ...process.env, CLAUDE_POD_TEST_ENGINE: 'docker' },
  });
  return {
    engine: 'docker',
    setupSeconds,
    testSeconds: (Date.now() - t1) / 1000,
    code,
    counts: counts(report),
  };
}

async function podmanRootless() {
  if (process.getuid?.() !== 0) {
    return { engine: 'podman-rootless', error: 'needs root (to create the user and copy the image)' };
  }
  const rootless = await import(join(root, 'dist', 'setup', 'rootless-user.js'));
  const { copyImage } = await import(join(root, 'dist', 'setup', 'image-transfer.js'));
  const { DEFAULT_IMAGE } = await import(join(root, 'dist', 'shared', 'config.js'));
  const t0 = Date.now();
  const user = await rootless.ensureUser(ROOTLESS_USER);
  const ids = await rootless.ensureSubordinateIds(user);
  const runtimeDir = await rootless.ensureRuntimeDir(user);
  const results = join(user.home, 'test-results');
  const env = rootless.userEnvironment(user, runtimeDir, {
    // The checkout is root's: caches (the OCI probe's) go to the user's home.
    CLAUDE_POD_CACHE_DIR: join(user.home, '.cache', 'claude-pod'),
    CLAUDE_POD_TEST_ENGINE: 'podman-rootless',
    ...(process.env.CI ? { CI: process.env.CI } : {}),
  });
  log(
    `user ${user.name} (uid ${user.uid}), runtime dir ${runtimeDir}${ids.length ? `, added ${ids.join(', ')}` : ''}`,
  );
  const asUser = (args) => [
    '-u',
    user.name,
    '--',
    'env',
    '-i',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...args,
  ];
  // The user's own podman first (storage on overlay before any image lands in it) ...
  const prepare =
    `import('${join(root, 'dist', 'setup', 'rootless-podman.js')}')` +
    `.then((m) => m.prepareRootlessPodman('podman')).then((r) => console.log(r.detail, r.notes.join('; ')))`;
  if (run('runuser', asUser([process.execPath, '--input-type=module', '-e', prepare])) !== 0) {
    return { engine: 'podman-rootless', error: 'preparing rootless podman failed' };
  }
  // ... then the image root built, copied into the user's store (skipped when current) ...
  const copied = await copyImage(
    { command: 'podman', args: [] },
    rootless.asUser(user, env, 'podman'),
    process.env.CLAUDE_POD_TEST_IMAGE ?? DEFAULT_IMAGE,
  );
  log(
    copied.copied
      ? `image copied into ${user.name}'s store in ${seconds(copied.seconds * 1000)}`
      : 'image current',
  );
  // ... and setup as the user: everything it needs is there, so it only checks (and probes the OCI runtime).
  if (run('runuser', asUser([process.execPath, 'dist/cli/main.js', 'setup'])) !== 0) {
    return { engine: 'podman-rootless', error: `claude-pod setup as ${user.name} failed` };
  }
  const setupSeconds = (Date.now() - t0) / 1000;
  mkdirSync(results, { recursive: true });
  spawnSync('chown', [`${user.uid}:${user.gid}`, results]);
  const report = join(results, 'vitest-podman-rootless.json');
  rmSync(report, { force: true });
  const t1 = Date.now();
  const code = run('runuser', asUser([process.execPath, ...vitestArgs(report)]));
  return {
    engine: 'podman-rootless',
    setupSeconds,
    testSeconds: (Date.now() - t1) / 1000,
    code,
    counts: counts(report),
  };
}

/**
 * The remote engines (vitest project `remote`): a podman API service each test starts on a unix
 * socket, Docker Engine through DOCKER_HOST (set up as for `docker`), two engines at once, and the
 * Kubernetes Pod manifest under `podman kube play`.
 */
async function remote() {
  const setup = setupDocker();
  if (!setup.ok) return { engine: 'remote', setupSeconds: setup.seconds, error: 'docker setup failed' };
  const report = join(root, 'test-results', 'vitest-remote.json');
  rmSync(report, { force: true });
  const t1 = Date.now();
  const code = run(process.execPath, vitestArgs(report, 'remote'), {
    env: { ...process.env, CLAUDE_POD_TEST_ENGINE: '', CLAUDE_POD_TEST_REMOTE: '1' },
  });
  return {
    engine: 'remote',
    setupSeconds: setup.seconds,
    testSeconds: (Date.now() - t1) / 1000,
    code,
    counts: counts(report),
  };
}

const engines = { docker, 'podman-rootless': podmanRootless, remote };
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(engines);
const outcomes = [];
for (const name of wanted) {
  const fn = engines[name];
  if (!fn) {
    log(`unknown engine ${name} (known: ${Object.keys(engines).join(', ')})`);
    process.exit(2);
  }
  let outcome;
  try {
    outcome = await fn();
  } catch (error) {
    outcome = { engine: name, error: error instanceof Error ? error.message : String(error) };
  }
  outcomes.push(outcome);
  log(JSON.stringify(outcome));
}
mkdirSync(join(root, 'test-results'), { recursive: true });
writeFileSync(join(root, 'test-results', 'engines.json'), JSON.stringify(outcomes, null, 2) + '\n');
const bad = outcomes.filter((o) => o.error || o.code !== 0 || !o.counts || o.counts.failed > 0);
process.exitCode = bad.length ? 1 : 0;
