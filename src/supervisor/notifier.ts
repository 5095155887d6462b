import { readFile } from 'node:fs/promises';
import type { Logger } from '../shared/logger.js';
import type { JobStatus } from './job-view.js';

export interface NotifierOptions {
  url: string;
  hooksToken: string;
  openclawConfigPath: string;
  logger: Logger;
  /** Total time one notification may keep retrying. */
  retryForMs?: number;
  fetchImpl?: typeof fetch;
}

/**
 * Job-completion webhooks for OpenClaw's `/hooks/agent`. Delivery never blocks a job: it runs
 * in the background, retries with backoff for a bounded time under one Idempotency-Key (so a
 * retried POST is not run twice), and never logs the token.
 */
export class Notifier {
  private token: Promise<string | null> | null = null;
  private resolvedToken: string | null = null;
  private warnedNoToken = false;
  private readonly inflight = new Set<Promise<boolean>>();

  constructor(private readonly opts: NotifierOptions) {}

  /** Resolves true when delivered, false when given up (or disabled). */
  notify(status: JobStatus): Promise<boolean> {
    const p = this.deliver(status).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
    return p;
  }

  /** Wait a little for deliveries in flight; undelivered ones are retried by the next supervisor. */
  async drain(timeoutMs = 3_000): Promise<void> {
    if (this.inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.inflight]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private resolveToken(): Promise<string | null> {
    this.token ??= (async () => {
      const token = this.opts.hooksToken || (await readHooksToken(this.opts.openclawConfigPath));
      this.resolvedToken = token;
      return token;
    })();
    return this.token;
  }

  /** Resolves the hooks token once, so `describe()` can tell whether notifications are on. */
  async ready(): Promise<void> {
    await this.resolveToken();
  }

  /** Whether notifications will be sent, and where (after `ready()`). */
  describe(): { enabled: boolean; url: string | null } {
    const enabled = Boolean(this.opts.url) && this.resolvedToken !== null;
    return { enabled, url: this.opts.url || null };
  }

  private async deliver(status: JobStatus): Promise<boolean> {
    if (!this.opts.url) return false;
    const token = await this.resolveToken();
    if (!token) {
      if (!this.warnedNoToken) {
        this.warnedNoToken = true;
        this.opts.logger.info(
          'job notifications are off: no hooksToken configured and no hooks.token in the OpenClaw config',
        );
      }
      return false;
    }
    const fetchImpl = this.opts.fetchImpl ?? fetch;
    const body = JSON.stringify({ message: notificationText(status), name: 'claude-code', deliver: true });
    const deadline = Date.now() + (this.opts.retryForMs ?? 120_000);
    let delay = 500;
    for (let attempt = 1; ; attempt++) {
      let retryable = true;
      try {
        const res = await fetchImpl(this.opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            'idempotency-key': `claude-pod-${status.jobId}-${status.status}`,
          },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return true;
        retryable = res.status >= 500 || res.status === 408 || res.status === 429;
        this.opts.logger.warn({ jobId: status.jobId, status: res.status, attempt }, 'notification rejected');
      } catch (error) {
        this.opts.logger.debug(
          { jobId: status.jobId, attempt, err: (error as Error).message },
          'notification not delivered yet',
        );
      }
      if (!retryable || Date.now() + delay > deadline) {
        this.opts.logger.warn(
          { jobId: status.jobId, attempts: attempt },
          'gave up delivering a job notification',
        );
        return false;
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 15_000);
    }
  }
}

/** The message an OpenClaw agent reads: what ended, how, and which tool reads the rest. */
export function notificationText(s: JobStatus): string {
  const kb = (s.outputSize / 1024).toFixed(1);
  const head = `Claude Code job ${s.jobId} (session ${s.sessionId}) ${s.status} after ${s.elapsedSeconds}s; output ${kb} KB.`;
  const lines = [head];
  if (s.error) lines.push(`Error: ${s.error}`);
  const result = s.claude.result?.split('\n').slice(0, 5).join('\n').slice(0, 800);
  if (result) lines.push(`Result:\n${result}`);
  lines.push(
    `Read the full output with claude_code_output (job_id "${s.jobId}"); continue the session with claude_code_start (session_id "${s.sessionId}").`,
  );
  return lines.join('\n');
}

/** hooks.token from OpenClaw's config (JSON, possibly with comments), or null. */
export async function readHooksToken(path: string): Promise<string | null> {
  try {
    const text = await readFile(path, 'utf8');
    const parsed = JSON.parse(stripJsonComments(text)) as { hooks?: { token?: unknown; enabled?: unknown } };
    const token = parsed.hooks?.token;
    return typeof token === 'string' && token.length > 0 ? token : null;
  } catch {
    return null;
  }
}

function stripJsonComments(text: string): string {
  return text.replace(
    /("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (_m, str: string | undefined) => str ?? '',
  );
}
