import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import type { JobStatus } from '../supervisor/api.js';
import type { ToolSupervisor } from './define.js';

/**
 * The job a status/output/cancel call names. `session_id` is optional (job ids are unique), but
 * when given it must be the job's session: a job of another session is JOB_NOT_FOUND naming both,
 * never silently answered.
 */
export function jobInSession(
  supervisor: ToolSupervisor,
  args: { job_id: string; session_id?: string | undefined },
): JobStatus {
  const job = supervisor.status(args.job_id);
  if (args.session_id !== undefined && job.sessionId !== args.session_id) {
    throw new ClaudePodError(
      ErrorCodes.JOB_NOT_FOUND,
      `Job ${args.job_id} is not in session ${args.session_id}: it belongs to another session. ` +
        'Omit session_id, or pass the session_id claude_code_start returned with this job.',
      { details: { jobId: args.job_id, sessionId: args.session_id } },
    );
  }
  return job;
}
