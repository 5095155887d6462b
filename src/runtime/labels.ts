/** Labels put on every container we start, so any of them can be found and reaped later. */
export const LABEL_MANAGED = 'io.claude-pod.managed';
export const LABEL_OWNER = 'io.claude-pod.owner';
export const LABEL_JOB = 'io.claude-pod.job';
export const LABEL_SESSION = 'io.claude-pod.session';

/** Container names are derived from job ids, so a job's container is found without a lookup. */
export const containerNameFor = (jobId: string): string => `claude-pod-${jobId}`;
