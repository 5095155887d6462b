/**
 * How a job reaches the model API: a host-side proxy behind a unix socket. The supervisor needs
 * only this much of it; src/proxy implements it, tests may pass their own.
 */
export interface ApiAccess {
  /**
   * The job's own directory holding its proxy socket (`api.sock`); bind-mounted read-only into
   * that job's container only. The token works on this socket and no other.
   */
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
   * After a restart: make sure the job's existing token still works (its container holds it) and
   * its socket is in place again in the directory the container mounts. `socketDir`, when given,
   * is that directory (a remote job's tunnel connects to the socket there).
   */
  reattach(jobId: string): Promise<(Pick<ApiAccess, 'activityFile'> & { socketDir?: string }) | void>;
  revoke(jobId: string): Promise<void>;
  /** Stop what the gate started, when nothing needs it any more. */
  close(opts: { jobsStillRunning: boolean }): Promise<void>;
}
