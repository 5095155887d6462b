/**
 * The piscina entry: one task = one job, for as long as the job runs. The worker talks to the
 * supervisor over the MessagePort that came with the task; piscina's own channel carries only
 * the final outcome (a backstop: the supervisor finalises on whichever arrives first).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { serializeError } from '../shared/errors.js';
import {
  jobSpecSchema,
  supervisorMessageSchema,
  type JobOutcome,
  type JobTask,
  type WorkerMessage,
} from '../shared/protocol.js';
import { JobRunner } from './job-runner.js';

/**
 * Job threads run at a lower CPU priority than the host's main thread (nice +10, Linux): with
 * many jobs on few cores the gateway's event loop must win the CPU. Processes this thread starts
 * (the runtime client, and through it the container) inherit it.
 */
export const JOB_THREAD_NICE = 10;
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, JOB_THREAD_NICE);
  } catch {
    // Not Linux, or not permitted: run at normal priority.
  }
}
lowerThreadPriority();

export default async function runJob(task: JobTask): Promise<JobOutcome> {
  const { port } = task;
  const spec = jobSpecSchema.parse(task.spec);
  const post = (message: WorkerMessage) => port.postMessage(message);
  const runner = new JobRunner(spec, post);

  const onMessage = (raw: unknown) => {
    const parsed = supervisorMessageSchema.safeParse(raw);
    if (!parsed.success) {
      post({ type: 'log', jobId: spec.jobId, level: 'error', msg: 'invalid message from supervisor' });
      return;
    }
    runner.handle(parsed.data);
  };
  port.on('message', onMessage);
  injectFaultForTests(spec.container?.stdin ?? '', post, spec.jobId);

  try {
    const outcome = await runner.run();
    post({ type: 'ended', jobId: spec.jobId, outcome });
    return outcome;
  } catch (error) {
    post({ type: 'error', jobId: spec.jobId, error: serializeError(error) });
    throw error;
  } finally {
    port.off('message', onMessage);
    port.close();
  }
}

/**
 * Fault injection for the worker-fault tests, off unless CLAUDE_POD_FAULT_INJECTION=1 is in the
 * environment: a prompt containing `[[fault:throw]]` makes this worker throw an uncaught error
 * shortly after the job starts, `[[fault:exit]]` ends the worker thread abruptly.
 */
function injectFaultForTests(prompt: string, post: (m: WorkerMessage) => void, jobId: string): void {
  if (process.env.CLAUDE_POD_FAULT_INJECTION !== '1') return;
  const fault = /\[\[fault:(throw|exit)\]\]/.exec(prompt)?.[1];
  if (!fault) return;
  post({ type: 'log', jobId, level: 'warn', msg: `injecting worker fault: ${fault}` });
  setTimeout(() => {
    if (fault === 'exit') process.exit(3);
    throw new Error('injected worker fault');
  }, 1500);
}
