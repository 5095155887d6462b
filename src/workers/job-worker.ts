/**
 * The piscina entry: one task = one actor host, for as long as this thread hosts jobs. The pool
 * hands jobs to it on the thread's own channel (`control`), each with the worker's end of the
 * job's own MessageChannel; the host runs an actor per job (actor-host.ts). The task ends when the
 * pool retires the thread's host; if the thread dies, piscina fails the task and the pool fails
 * the jobs this thread hosted (and only those) with WORKER_CRASHED.
 */
import type { MessagePort } from 'node:worker_threads';
import {
  assertNever,
  hostCommandSchema,
  type HostTask,
  type JobSpec,
  type WorkerMessage,
} from '../shared/protocol.js';
import { ActorHost, type JobPort } from './actor-host.js';
import { lowerThreadPriority } from './thread-priority.js';

lowerThreadPriority();

export default function runHost(task: HostTask): Promise<void> {
  const { control } = task;
  const host = new ActorHost((report) => control.postMessage(report), { onJob: injectFaultForTests });
  return new Promise<void>((resolve) => {
    control.on('message', (raw: unknown) => {
      const parsed = hostCommandSchema.safeParse(raw);
      if (!parsed.success) {
        // A pool bug: the job cannot be identified, so it cannot be failed; the pool's own
        // validation of what it sends makes this unreachable.
        process.emitWarning('claude-pod: invalid message from the pool to a worker thread');
        return;
      }
      const command = parsed.data;
      switch (command.type) {
        case 'host':
          host.host(command.key, command.spec, jobPort(command.port));
          break;
        case 'retire':
          void host.retire().then(() => {
            control.close();
            resolve();
          });
          break;
        default:
          assertNever(command, 'host command');
      }
    });
  });
}

function jobPort(port: MessagePort): JobPort {
  return {
    post: (message) => port.postMessage(message),
    onMessage: (handler) => port.on('message', handler),
    close: () => port.close(),
  };
}

/**
 * Fault injection for the worker-fault tests, off unless CLAUDE_POD_FAULT_INJECTION=1 is in the
 * environment: a prompt containing `[[fault:throw]]` makes this thread throw an uncaught error
 * shortly after the job starts, `[[fault:exit]]` ends the worker thread abruptly. Either takes
 * down every job this thread hosts, as a real crash of the thread would.
 */
function injectFaultForTests(spec: JobSpec, post: (m: WorkerMessage) => void): void {
  if (process.env.CLAUDE_POD_FAULT_INJECTION !== '1') return;
  const fault = /\[\[fault:(throw|exit)\]\]/.exec(spec.container?.stdin ?? '')?.[1];
  if (!fault) return;
  post({ type: 'log', jobId: spec.jobId, level: 'warn', msg: `injecting worker fault: ${fault}` });
  setTimeout(() => {
    if (fault === 'exit') process.exit(3);
    throw new Error('injected worker fault');
  }, 1500);
}
