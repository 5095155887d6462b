/**
 * The piscina entry: one task = one job, for as long as the job runs. The worker talks to the
 * supervisor over the MessagePort that came with the task; piscina's own channel carries only
 * the final outcome (a backstop: the supervisor finalises on whichever arrives first).
 */
import { serializeError } from '../shared/errors.js';
import {
  assertNever,
  jobSpecSchema,
  supervisorMessageSchema,
  type JobOutcome,
  type JobTask,
  type WorkerMessage,
} from '../shared/protocol.js';
import { JobRunner } from './job-runner.js';

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
    const message = parsed.data;
    switch (message.type) {
      case 'cancel':
        void runner.cancel();
        break;
      case 'detach':
        runner.detach();
        break;
      default:
        assertNever(message, 'supervisor message');
    }
  };
  port.on('message', onMessage);

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
