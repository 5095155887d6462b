import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import type { SocketOwner } from './paths.js';

/**
 * The capability tokens of one state directory. Only SHA-256 hashes are stored: the file tells
 * the proxy which tokens are valid, for which job, and who owns that job's socket, but reading it
 * does not yield a usable token. Written atomically (rename), so the daemon never sees half a
 * file. It is the one source of truth: a daemon that starts (or takes over) serves a socket for
 * every job listed here.
 */
const entrySchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  grantedAt: z.number(),
  /** Owner of the job's socket directory and socket (version 2; absent: the daemon's own user). */
  uid: z.number().int().nonnegative().optional(),
  gid: z.number().int().nonnegative().optional(),
});
const tokensFileSchema = z.object({
  version: z.union([z.literal(1), z.literal(2)]),
  tokens: z.record(z.string(), entrySchema),
});
export type TokensFile = z.infer<typeof tokensFileSchema>;
export type TokenEntry = z.infer<typeof entrySchema>;

export const emptyTokensFile = (): TokensFile => ({ version: 2, tokens: {} });

export function newCapabilityToken(): string {
  return `cpod_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function readTokensFile(path: string): Promise<TokensFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyTokensFile();
    throw error;
  }
  return tokensFileSchema.parse(JSON.parse(text));
}

export async function writeTokensFile(path: string, data: TokensFile): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ ...data, version: 2 }, null, 2)}\n`, { mode: 0o600 });
}

/** Identity of the file's current version: an atomic rename changes the inode. */
export async function tokensFileVersion(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}:${s.mtimeNs}:${s.size}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

export interface GrantedJob {
  jobId: string;
  owner: SocketOwner | null;
}

/**
 * The daemon's view: token hash → job id, in memory. Requests never touch the disk: the table is
 * reloaded when the file changes (watch), on every tick, and when a client asks (control `sync`),
 * which is how a grant or a revocation takes effect before the client's call returns.
 */
export class TokenTable {
  private byHash = new Map<string, string>();
  private jobs = new Map<string, GrantedJob>();
  private version = '';
  private loading: Promise<boolean> | null = null;

  constructor(private readonly path: string) {}

  get size(): number {
    return this.jobs.size;
  }

  /** The job the token was granted to, or null. */
  jobFor(token: string): string | null {
    return this.byHash.get(hashToken(token)) ?? null;
  }

  granted(): GrantedJob[] {
    return [...this.jobs.values()];
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /** Reloads if the file changed since the last load (one stat when it did not); true when it did. */
  refresh(): Promise<boolean> {
    // Concurrent callers share one reload.
    this.loading ??= this.reload().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async reload(): Promise<boolean> {
    const version = await tokensFileVersion(this.path);
    if (version === this.version) return false;
    const data = await readTokensFile(this.path);
    const byHash = new Map<string, string>();
    const jobs = new Map<string, GrantedJob>();
    for (const [jobId, entry] of Object.entries(data.tokens)) {
      byHash.set(entry.sha256, jobId);
      const owner = entry.uid === undefined ? null : { uid: entry.uid, gid: entry.gid ?? entry.uid };
      jobs.set(jobId, { jobId, owner });
    }
    this.byHash = byHash;
    this.jobs = jobs;
    this.version = version;
    return true;
  }
}
