import type { ToolSupervisor } from '../tools/define.js';
import { ClaudePodError, ErrorCodes, isClaudePodError } from '../shared/errors.js';

/** What the host needs from a supervisor: the tools' API and a detaching close. */
export interface HostedSupervisor extends ToolSupervisor {
  close(opts?: { cancelRunning?: boolean }): Promise<void>;
}

/**
 * Owns the plugin's one supervisor across the gateway's lifecycle. `register()` runs many times
 * per gateway start (discovery modes included) and must not start anything, so the supervisor is
 * created only by the service's `start` and closed by its `stop`. Tools registered before the
 * service has started wait for it (bounded), so an early call is answered rather than refused.
 */
export class SupervisorHost {
  private current: Promise<HostedSupervisor> | null = null;
  private failure: unknown = null;
  private waiters: Array<() => void> = [];

  constructor(private readonly waitForStartMs = 30_000) {}

  /** Start (once): `create` builds the supervisor; failure is kept and reported to tool calls. */
  async start(create: () => Promise<HostedSupervisor>): Promise<void> {
    if (this.current) return;
    this.failure = null;
    const pending = create();
    this.current = pending;
    this.wake();
    try {
      await pending;
    } catch (error) {
      this.failure = error;
      this.current = null;
      throw error;
    }
  }

  /** Stop following jobs; running containers keep running and the next start re-attaches them. */
  async stop(): Promise<void> {
    const pending = this.current;
    this.current = null;
    if (!pending) return;
    const supervisor = await pending.catch(() => null);
    await supervisor?.close({ cancelRunning: false });
  }

  async get(): Promise<HostedSupervisor> {
    if (!this.current && !this.failure) await this.waitForStart();
    if (this.current) return this.current;
    throw notRunning(this.failure);
  }

  private waitForStart(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.waitForStartMs);
      timer.unref?.();
      const waiters = this.waiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

function notRunning(cause: unknown): ClaudePodError {
  if (isClaudePodError(cause)) return cause;
  const why = cause instanceof Error ? `: ${cause.message}` : cause ? `: ${String(cause)}` : '';
  return new ClaudePodError(
    ErrorCodes.SUPERVISOR_CLOSED,
    `The claude-code plugin is not running${why || ' (its service has not started)'}`,
    cause === null ? undefined : { cause },
  );
}
