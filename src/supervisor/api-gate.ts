/**
 * How a job reaches the model API: a host-side proxy behind a unix socket. The supervisor needs
 * only this much of it; src/proxy implements it, tests may pass their own.
 */
export interface ApiAccess {
  /** Directory holding the proxy's socket; bind-mounted read-only into the container. */
  socketDir: string;
  /** A fresh capability token for one job; the container sees only this, never the secret. */
  token: string;
  kind: 'api-key' | 'oauth';
  /**
   * A file whose mtime the proxy moves forward (at most about once a second) while bytes flow
   * through this job's API connection; the job's idle watchdog counts that as activity.
   */
  activityFile?: string;
}

export interface ApiGate {
  /** Throws NO_AUTH when the host has no credential. */
  grant(jobId: string): Promise<ApiAccess>;
  /**
   * After a restart: make sure the job's existing token still works (its container holds it).
   * `socketDir`, when given, is where the job's socket is (a remote job's tunnel connects there).
   */
  reattach(jobId: string): Promise<(Pick<ApiAccess, 'activityFile'> & { socketDir?: string }) | void>;
  revoke(jobId: string): Promise<void>;
  /** Stop what the gate started, when nothing needs it any more. */
  close(opts: { jobsStillRunning: boolean }): Promise<void>;
}
