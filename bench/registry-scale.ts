/**
 * How the registry scales with the sessions one supervisor keeps: the size of the JSON document
 * and the time of one atomic write (serialise + temp file + fsync + rename, the supervisor's own
 * RegistryFile and writer) and of a load, at 100 to 10,000 sessions with a few ended jobs each,
 * their fields filled as a finished job leaves them (a prompt, the output tail, a result text at
 * its cap). Every state transition of any job costs one such write (bursts coalesce to two); here
 * one job and its session change between writes. `JSON.stringify` of the whole state is shown for
 * comparison: what each write cost on the main thread before records were serialised once each.
 *
 *   npx tsx bench/registry-scale.ts [--out bench/results/registry-scale.md]
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TAIL_CHARS } from '../src/workers/output-store.js';
import { REPORT_LIMITS } from '../src/workers/claude-report.js';
import { emptyProgress } from '../src/supervisor/job-machine.js';
import type { JobRecord, RegistryState, SessionRecord } from '../src/supervisor/records.js';
import { loadRegistry, RegistryFile } from '../src/supervisor/registry-file.js';
import { RegistrySerializer } from '../src/supervisor/registry-serializer.js';
import { statePaths } from '../src/supervisor/state-paths.js';
import { summarize } from './stats.js';

const JOBS_PER_SESSION = 4;
const PROMPT_CHARS = 600;
const SIZES = [100, 1_000, 10_000];
const WRITES = 20;

function finishedJob(jobId: string, sessionId: string, at: number): JobRecord {
  const progress = emptyProgress();
  progress.outputSize = 180_000;
  progress.tailOutput = 'x'.repeat(DEFAULT_TAIL_CHARS);
  progress.lines = 400;
  progress.events = 400;
  progress.firstOutputAt = at + 2_000;
  progress.lastOutputAt = at + 90_000;
  progress.claude.sessionId = '0b8f7c1e-4a57-4c6e-9d39-8a2b7f0e1c55';
  progress.claude.result = 'r'.repeat(REPORT_LIMITS.resultChars);
  progress.claude.numTurns = 12;
  progress.claude.costUsd = 0.42;
  return {
    jobId,
    sessionId,
    prompt: 'p'.repeat(PROMPT_CHARS),
    phase: 'ended',
    status: 'completed',
    cancelRequested: false,
    resumeClaudeSessionId: null,
    createdAt: at,
    launchedAt: at + 100,
    startedAt: at + 1_000,
    endedAt: at + 90_000,
    exitCode: 0,
    error: null,
    progress,
    notified: true,
    engine: 'local',
  };
}

function registryOf(sessions: number): RegistryState {
  const state: RegistryState = { version: 2, sessions: {}, jobs: {} };
  const at = Date.now();
  for (let s = 0; s < sessions; s++) {
    const sessionId = `sess-${s.toString(36)}-${'a'.repeat(8)}`;
    const jobIds: string[] = [];
    for (let j = 0; j < JOBS_PER_SESSION; j++) {
      const jobId = `job-${s.toString(36)}-${j}-${'b'.repeat(12)}`;
      state.jobs[jobId] = finishedJob(jobId, sessionId, at);
      jobIds.push(jobId);
    }
    const session: SessionRecord = {
      sessionId,
      createdAt: at,
      lastActivityAt: at,
      createdWorkspace: true,
      claudeSessionId: '0b8f7c1e-4a57-4c6e-9d39-8a2b7f0e1c55',
      messageCount: JOBS_PER_SESSION,
      activeJobId: null,
      jobIds,
    };
    state.sessions[sessionId] = session;
  }
  return state;
}

interface Row {
  sessions: number;
  jobs: number;
  bytes: number;
  stringifyP50: number;
  serialiseP50: number;
  writeP50: number;
  writeMax: number;
  loadMs: number;
}

async function measure(sessions: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'claude-pod-registry-scale-'));
  try {
    const paths = statePaths(join(dir, 'sessions'), join(dir, 'workspaces'));
    await mkdir(join(dir, 'sessions'), { recursive: true });
    const state = registryOf(sessions);
    const stringify: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const t0 = performance.now();
      JSON.stringify(state);
      stringify.push(performance.now() - t0);
    }
    const serializer = new RegistrySerializer();
    serializer.serialize(state);
    const file = new RegistryFile(paths.registry, () => state);
    const serialise: number[] = [];
    const writes: number[] = [];
    const jobIds = Object.keys(state.jobs);
    for (let i = 0; i < WRITES; i++) {
      // One transition between writes: a job's record and its session's are replaced, as the
      // state machine does (records are immutable; the serializer re-serialises only those).
      const jobId = jobIds[(i * 7919) % jobIds.length]!;
      const job = state.jobs[jobId]!;
      state.jobs[jobId] = { ...job, notified: !job.notified };
      const session = state.sessions[job.sessionId]!;
      state.sessions[job.sessionId] = { ...session, lastActivityAt: session.lastActivityAt + 1 };
      const ts = performance.now();
      serializer.serialize(state);
      serialise.push(performance.now() - ts);
      const t0 = performance.now();
      await file.now();
      writes.push(performance.now() - t0);
    }
    const bytes = (await stat(paths.registry)).size;
    const t1 = performance.now();
    const { state: loaded } = await loadRegistry(paths);
    const loadMs = performance.now() - t1;
    if (Object.keys(loaded.jobs).length !== sessions * JOBS_PER_SESSION)
      throw new Error('the registry read back differs from the one written');
    return {
      sessions,
      jobs: sessions * JOBS_PER_SESSION,
      bytes,
      stringifyP50: summarize(stringify).p50,
      serialiseP50: summarize(serialise).p50,
      writeP50: summarize(writes).p50,
      writeMax: summarize(writes).max,
      loadMs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? process.argv[outIndex + 1] : 'bench/results/registry-scale.md';
const rows: Row[] = [];
for (const n of SIZES) rows.push(await measure(n));
const mib = (b: number) => (b / 1024 / 1024).toFixed(2);
const ms = (v: number) => v.toFixed(1);
const lines = [
  `# Registry size and write time (${new Date().toISOString()}, Node ${process.version})`,
  '',
  `Each session has ${JOBS_PER_SESSION} ended jobs (prompt ${PROMPT_CHARS} chars, output tail ${DEFAULT_TAIL_CHARS}, result text ${REPORT_LIMITS.resultChars}). ` +
    `${WRITES} writes each; a write is RegistryFile.now(): the changed records serialised, the document joined, temp file + fsync + rename.`,
  '',
  '| sessions | jobs | registry size (MiB) | whole-state JSON.stringify p50 (ms) | serialise after one change p50 (ms) | write p50 (ms) | write max (ms) | load (ms) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.sessions} | ${r.jobs} | ${mib(r.bytes)} | ${ms(r.stringifyP50)} | ${ms(r.serialiseP50)} | ${ms(r.writeP50)} | ${ms(r.writeMax)} | ${ms(r.loadMs)} |`,
  ),
  '',
];
if (out) await writeFile(out, lines.join('\n'));
process.stdout.write(lines.join('\n'));
