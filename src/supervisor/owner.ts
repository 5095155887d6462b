import { createHash } from 'node:crypto';

/**
 * Containers are labelled with an owner derived from the sessions directory, so a restarted
 * supervisor on the same directories recognises its containers, and two supervisors on
 * different directories never reap each other's.
 */
export const ownerIdFor = (sessionsDir: string): string =>
  createHash('sha256').update(sessionsDir).digest('hex').slice(0, 16);
