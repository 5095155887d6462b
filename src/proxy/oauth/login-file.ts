import { readFile, stat } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';

/**
 * Claude Code's credentials file (`~/.claude/.credentials.json`): `claudeAiOauth` holds the login.
 * We own three of its fields (`accessToken`, `refreshToken`, `expiresAt`); every other field, in
 * `claudeAiOauth` and around it, is written back exactly as read.
 */
const oauthSchema = z.looseObject({
  accessToken: z.string().min(1),
  refreshToken: z.string().nullish(),
  /** Milliseconds since the epoch; absent or null: unknown (never refreshed ahead of time). */
  expiresAt: z.number().nullish(),
  scopes: z.array(z.string()).nullish(),
});

export type OAuthLogin = z.infer<typeof oauthSchema>;

export interface CredentialsSnapshot {
  login: OAuthLogin;
  /** Identity of the file's version (inode, mtime, size): an atomic rewrite changes it. */
  version: string;
}

export class CredentialsFileError extends Error {
  constructor(
    message: string,
    readonly reason: 'missing' | 'unreadable' | 'invalid',
  ) {
    super(message);
    this.name = 'CredentialsFileError';
  }
}

export async function credentialsVersion(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}:${s.mtimeNs}:${s.size}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CredentialsFileError(
      `cannot read ${path} (${code ?? 'error'})`,
      code === 'ENOENT' ? 'missing' : 'unreadable',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never the text itself: it holds the tokens.
    throw new CredentialsFileError(`${path} is not valid JSON`, 'invalid');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CredentialsFileError(`${path} is not a JSON object`, 'invalid');
  return parsed as Record<string, unknown>;
}

export async function readCredentials(path: string): Promise<CredentialsSnapshot> {
  const version = await credentialsVersion(path);
  const data = await readJson(path);
  const login = oauthSchema.safeParse(data.claudeAiOauth);
  if (!login.success) throw new CredentialsFileError(`${path} has no claudeAiOauth.accessToken`, 'invalid');
  return { login: login.data, version };
}

export interface RefreshedLogin {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

/**
 * Puts a refreshed login in the file: read it again (under the caller's lock), replace our three
 * fields, and rename a new file into place (write-file-atomic keeps the file's mode and owner).
 */
export async function writeRefreshedLogin(path: string, refreshed: RefreshedLogin): Promise<void> {
  const data = await readJson(path);
  const previous =
    typeof data.claudeAiOauth === 'object' && data.claudeAiOauth !== null ? data.claudeAiOauth : {};
  const next = { ...data, claudeAiOauth: { ...previous, ...refreshed } };
  const { mode } = await stat(path);
  await writeFileAtomic(path, JSON.stringify(next), { mode: mode & 0o7777 });
}
