import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';

/**
 * The capability tokens of one state directory. Only SHA-256 hashes are stored: the file tells
 * the proxy which tokens are valid and for which job, but reading it does not yield a usable token.
 * Written atomically (rename), so the daemon never sees half a file.
 */
const tokensFileSchema = z.object({
  version: z.literal(1),
  tokens: z.record(
    z.string(),
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), grantedAt: z.number() }),
  ),
});
export type TokensFile = z.infer<typeof tokensFileSchema>;

export const emptyTokensFile = (): TokensFile => ({ version: 1, tokens: {} });

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
  await writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
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

/** The daemon's view: token hash → job id, reloaded whenever the file's version changes. */
export class TokenTable {
  private byHash = new Map<string, string>();
  private version = '';
  private loading: Promise<void> | null = null;

  constructor(private readonly path: string) {}

  get size(): number {
    return this.byHash.size;
  }

  /** Reloads if the file changed since the last load (one stat when it did not). */
  async refresh(): Promise<void> {
    // Concurrent callers share one reload.
    this.loading ??= this.reload().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** The job id the token was granted to, or null. Checks the file first, so revocations apply at once. */
  async lookup(token: string): Promise<string | null> {
    await this.refresh();
    return this.byHash.get(hashToken(token)) ?? null;
  }

  private async reload(): Promise<void> {
    const version = await tokensFileVersion(this.path);
    if (version === this.version) return;
    const data = await readTokensFile(this.path);
    const next = new Map<string, string>();
    for (const [jobId, entry] of Object.entries(data.tokens)) next.set(entry.sha256, jobId);
    this.byHash = next;
    this.version = version;
  }
}
