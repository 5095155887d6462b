#!/usr/bin/env node
// One entry point for `npm run demo` and `npm test` on a fresh machine. Plain Node, no dependencies:
// it runs before `npm ci`. Steps: install dependencies when needed, build, `claude-pod setup`, then
// the demo or the whole test suite, ending with one line `N passed, N failed[, N skipped]`.
//
// The test suite: unit, integration and e2e on rootful podman, then the job-lifecycle tests again
// on Docker Engine and on rootless podman as a created non-root user (scripts/test-engines.mjs;
// both need root). CLAUDE_POD_TEST_ENGINES=docker,podman-rootless (or "none") picks which.
// Between them, the unit files and the job-lifecycle integration files run a second time with every
// job on one worker thread (TEST_WORKER_THREADS=1; the first run has the default, which on a 2-core
// host already puts several jobs on a thread): a few minutes, not the whole suite again.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
const started = Date.now();

function log(line) {
  process.stdout.write(`bootstrap: ${line}\n`);
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Runs a command with inherited stdio (argv, no shell); returns its exit code. */
function run(command, args, env = {}) {
  const t0 = Date.now();
  log(`$ ${[command, ...args].join(' ')}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) {
    log(`${command} could not be started: ${r.error.message}`);
    return 127;
  }
  const code = r.status ?? 1;
  log(`${command} ${args[0] ?? ''} exited ${code} after ${seconds(Date.now() - t0)}`);
  return code;
}

function mustRun(command, args) {
  const code = run(command, args);
  if (code !== 0) {
    log(`failed: ${[command, ...args].join(' ')} (exit ${code})`);
    process.exit(code);
  }
}

/** `npm ci` only when node_modules is missing or package-lock.json changed since the last one. */
function installDependencies() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.claude-pod-lock.sha256');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) {
    log('dependencies are current (package-lock.json unchanged)');
    return;
  }
  mustRun('npm', ['ci', '--no-audit', '--no-fund']);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, hash + '\n');
}

/** Counts tests by status in vitest's JSON report; null when the report is missing or unreadable. */
function summarise(reportPath) {
  let report;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch {
    return null;
  }
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    // A file that fails before any test runs (import error, failed beforeAll) has no results.
    if (tests.length === 0 && file.status === 'failed') counts.failed += 1;
    for (const t of tests) {
      if (t.status === 'passed') counts.passed += 1;
      else if (t.status === 'failed') counts.failed += 1;
      else counts.skipped += 1; // pending, skipped, todo, disabled
    }
  }
  return counts;
}

/** Adds `b`'s counts to `a`. */
function add(a, b) {
  for (const key of Object.keys(a)) a[key] += b?.[key] ?? 0;
  return a;
}

/** The engines besides rootful podman to run the lifecycle tests on (they need root to set up). */
function otherEngines() {
  const raw = process.env.CLAUDE_POD_TEST_ENGINES;
  if (raw !== undefined) return raw === 'none' ? [] : raw.split(',').filter(Boolean);
  return ['docker', 'podman-rootless', 'remote'];
}

/** One vitest run with its own JSON report: its exit code, its counts (null without a report), its time. */
function runVitest(what, report, args, env = {}) {
  const reportPath = join(root, 'test-results', report);
  rmSync(reportPath, { force: true });
  const t0 = Date.now();
  const code = run(
    'npx',
    [
      'vitest',
      'run',
      ...args,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=test-results/${report}`,
    ],
    { CLAUDE_POD_TEST_ENGINE: '', ...env },
  );
  const counts = summarise(reportPath);
  if (!counts) log(`${what}: no test report at ${reportPath} (vitest exited ${code})`);
  return { code, counts, seconds: (Date.now() - t0) / 1000 };
}

/**
 * The unit files (the model-based lifecycle test among them) and the job-lifecycle integration files
 * with every job on one worker thread: several jobs per thread, whatever the host's core count.
 */
const runOneThread = () =>
  runVitest(
    'one-thread run',
    'vitest-one-thread.json',
    [
      '--project',
      'unit',
      '--project',
      'integration',
      'test/unit/',
      'test/contract/fake-runtime',
      'test/integration/lifecycle/',
    ],
    { TEST_WORKER_THREADS: '1' },
  );

/**
 * The files that bound a thread's responsiveness in wall-clock time (project `timing`), alone, after
 * everything else: nothing of the suite's own may share the cores they measure.
 */
const runTiming = () => runVitest('timing run', 'vitest-timing.json', ['--project', 'timing']);

function runTests() {
  // The main run targets the default engine; the other engines get their own runs below.
  const main = runVitest('main run', 'vitest.json', [
    '--project',
    'unit',
    '--project',
    'integration',
    '--project',
    'e2e',
  ]);
  const { code, counts } = main;
  const mainSeconds = main.seconds;
  if (!counts) {
    process.stdout.write(`0 passed, 1 failed (no test report; vitest exited ${code})\n`);
    return 1;
  }
  if (code !== 0 && counts.failed === 0)
    log(`vitest exited ${code} although no test failed (see its output above)`);
  let failed = code !== 0;
  const timings = [`unit+integration+e2e (rootful podman) ${mainSeconds.toFixed(0)} s`];
  /** Adds a further vitest run's counts and time; a run without a report counts as one failure. */
  const include = (label, pass) => {
    timings.push(`${label} ${pass.seconds.toFixed(0)} s`);
    if (pass.counts) add(counts, pass.counts);
    else counts.failed += 1;
    if (pass.code !== 0) failed = true;
  };
  include('unit+lifecycle on one worker thread', runOneThread());
  const engines = otherEngines();
  if (engines.length && process.getuid?.() !== 0) {
    const why = `the ${engines.join(' and ')} runs need root (Docker Engine, a created user)`;
    if (/^(1|true|yes)$/i.test(process.env.CI ?? '')) {
      log(`failed: ${why}`);
      counts.failed += 1;
      failed = true;
    } else {
      log(`skipped: ${why}`);
      counts.skipped += 1;
    }
  } else if (engines.length) {
    const enginesCode = run('node', ['scripts/test-engines.mjs', ...engines]);
    let outcomes = [];
    try {
      outcomes = JSON.parse(readFileSync(join(root, 'test-results', 'engines.json'), 'utf8'));
    } catch {
      outcomes = [];
    }
    for (const name of engines) {
      const o = outcomes.find((x) => x.engine === name);
      if (!o || o.error || !o.counts) {
        log(`engine ${name}: ${o?.error ?? 'no report'}`);
        counts.failed += 1;
        continue;
      }
      add(counts, o.counts);
      timings.push(`${name} set-up ${o.setupSeconds.toFixed(0)} s + tests ${o.testSeconds.toFixed(0)} s`);
    }
    if (enginesCode !== 0) failed = true;
  }
  include('timing files alone', runTiming());
  log(`timings: ${timings.join('; ')}`);
  log(`total ${seconds(Date.now() - started)}`);
  const skipped = counts.skipped ? `, ${counts.skipped} skipped` : '';
  process.stdout.write(`${counts.passed} passed, ${counts.failed} failed${skipped}\n`);
  return counts.failed > 0 || failed ? 1 : 0;
}

if (mode !== 'demo' && mode !== 'test') {
  process.stderr.write('usage: node scripts/bootstrap.mjs demo|test\n');
  process.exit(2);
}
installDependencies();
mustRun('npm', ['run', 'build']);
mustRun('node', ['dist/cli/main.js', 'setup']);
if (mode === 'demo') {
  process.exitCode = run('node', ['dist/cli/main.js', 'demo']);
} else {
  process.exitCode = runTests();
}
