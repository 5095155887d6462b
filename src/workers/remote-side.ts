import { mkdir } from 'node:fs/promises';
import type { ContainerEngine } from '../runtime/engine.js';
import type { VolumeStore } from '../runtime/volumes.js';
import { extractReplacing, packDir } from '../runtime/workspace-tar.js';
import {
  ClaudePodError,
  ErrorCodes,
  isClaudePodError,
  serializeError,
  type SerializedError,
} from '../shared/errors.js';
import type { RemoteJob } from '../shared/protocol.js';
import { ApiTunnel } from './api-tunnel.js';
import type { Clock } from './clock.js';

type Log = (level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown>) => void;

/** How a sync went: done, the engine gave no answer (look again later), or it failed for good. */
export type SyncResult = { ok: true } | { ok: false; unknown: boolean; error: SerializedError };

/**
 * What a job on a remote engine needs beyond running its container: its session's volumes seeded
 * from this host before the run and copied back after the end, and the model-API tunnel kept up
 * while the container runs (restarted when the exec channel breaks; the container's forwarder
 * waits for it meanwhile).
 */
export class RemoteSide {
  private tunnel: ApiTunnel | null = null;
  private stopped = false;

  constructor(
    private readonly job: RemoteJob,
    private readonly container: string,
    private readonly engine: ContainerEngine,
    private readonly volumes: VolumeStore,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {}

  private opts() {
    return { labels: this.job.labels, image: this.job.image };
  }

  /** Each volume gets the content of its directory here (replacing what it held). */
  async seed(): Promise<SyncResult> {
    try {
      for (const v of this.job.volumes) {
        await mkdir(v.hostDir, { recursive: true, mode: 0o700 });
        await this.volumes.load(
          { volume: v.volume, ...(v.subPath ? { subPath: v.subPath } : {}) },
          packDir(v.hostDir),
          this.opts(),
        );
      }
      return { ok: true };
    } catch (error) {
      return this.failure('seed', error);
    }
  }

  /** Each volume synced both ways replaces its directory here. */
  async copyBack(): Promise<SyncResult> {
    try {
      for (const v of this.job.volumes) {
        if (v.direction !== 'both') continue;
        const { tar, done } = await this.volumes.save(
          { volume: v.volume, ...(v.subPath ? { subPath: v.subPath } : {}) },
          this.opts(),
        );
        const [extracted] = await Promise.all([extractReplacing(tar, v.hostDir), done]);
        if (extracted.skipped) {
          this.log('warn', 'entries not copied back (devices, links out of the workspace)', {
            dir: v.hostDir,
            skipped: extracted.skipped,
          });
        }
      }
      return { ok: true };
    } catch (error) {
      return this.failure('copy back', error);
    }
  }

  /**
   * Removes the session's volumes once their content is back here (after the container is
   * gone). A volume that cannot be removed stays; the next job's seed replaces it anyway.
   */
  async releaseVolumes(): Promise<void> {
    for (const volume of new Set(this.job.volumes.map((v) => v.volume))) {
      await this.volumes.remove(volume).catch((error: unknown) =>
        this.log('warn', 'a session volume could not be removed', {
          volume,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
    }
  }

  private failure(what: string, error: unknown): SyncResult {
    const unknown = isClaudePodError(error) && error.code === ErrorCodes.RUNTIME_FAILED;
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      unknown,
      error: serializeError(
        new ClaudePodError(ErrorCodes.WORKSPACE_SYNC_FAILED, `Workspace ${what} failed: ${message}`, {
          details: { volumes: this.job.volumes.map((v) => v.volume) },
        }),
      ),
    };
  }

  /** Keeps the tunnel up while `running()` says the container runs; returns at once. */
  keepTunnel(running: () => Promise<boolean>): void {
    if (!this.job.apiSocket) {
      this.log('warn', 'no model-API socket known for this job: no tunnel');
      return;
    }
    const socket = this.job.apiSocket;
    void (async () => {
      let delay = 250;
      while (!this.stopped) {
        if (!(await running().catch(() => false))) {
          await this.sleep(delay);
          delay = Math.min(delay * 2, 2_000);
          continue;
        }
        const tunnel = new ApiTunnel(this.engine, this.container, socket, {
          onReady: () => this.log('debug', 'model-API relay listening in the container'),
          onLog: (level, msg, data) => this.log(level, msg, data),
        });
        this.tunnel = tunnel.start();
        const { reason } = await tunnel.done;
        this.tunnel = null;
        if (this.stopped) return;
        this.log('info', 'model-API tunnel ended; starting it again', { reason });
        await this.sleep(500);
        delay = 250;
      }
    })();
  }

  stopTunnel(): void {
    this.stopped = true;
    this.tunnel?.stop();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}
