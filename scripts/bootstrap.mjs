#!/usr/bin/env node
// One entry point for `npm run demo` and `npm test` on a fresh machine. Plain Node, no dependencies:
// it runs before `npm ci`. Steps: install dependencies when needed, build, `claude-pod setup`, then
// the demo or the whole test suite, ending with one line `N passed, N failed[, N skipped]`.
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

function runTests() {
  const reportPath = join(root, 'test-results', 'vitest.json');
  rmSync(reportPath, { force: true });
  const code = run('npx', [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    '--outputFile.json=test-results/vitest.json',
  ]);
  const counts = summarise(reportPath);
  log(`total ${seconds(Date.now() - started)}`);
  if (!counts) {
    process.stdout.write(`0 passed, 1 failed (no test report at ${reportPath}; vitest exited ${code})\n`);
    return 1;
  }
  if (code !== 0 && counts.failed === 0)
    log(`vitest exited ${code} although no test failed (see its output above)`);
  const skipped = counts.skipped ? `, ${counts.skipped} skipped` : '';
  process.stdout.write(`${counts.passed} passed, ${counts.failed} failed${skipped}\n`);
  return counts.failed > 0 || code !== 0 ? 1 : 0;
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
