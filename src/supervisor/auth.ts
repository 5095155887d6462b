import { readFile } from 'node:fs/promises';
import { noAuth } from '../shared/errors.js';

export type Credential = { kind: 'api-key'; value: string } | { kind: 'oauth'; value: string };

/** What `doctor` and `status` may show about authentication: never the secret itself. */
export type AuthSource = 'oauth-credentials-file' | 'api-key-env' | 'none';

/**
 * The credential the host-side API proxy injects. As in the seed, OAuth credentials (Claude
 * Max) take precedence over ANTHROPIC_API_KEY. The secret stays on the host: the container
 * only ever gets a per-job capability token for the proxy.
 */
export async function resolveCredential(opts: {
  credentialsPath: string;
  env?: NodeJS.ProcessEnv;
}): Promise<{ credential: Credential; source: AuthSource } | null> {
  const env = opts.env ?? process.env;
  const oauth = await readOauthToken(opts.credentialsPath);
  if (oauth) return { credential: { kind: 'oauth', value: oauth }, source: 'oauth-credentials-file' };
  const apiKey = env.ANTHROPIC_API_KEY?.trim();
  if (apiKey) return { credential: { kind: 'api-key', value: apiKey }, source: 'api-key-env' };
  return null;
}

export async function requireCredential(opts: { credentialsPath: string; env?: NodeJS.ProcessEnv }) {
  const found = await resolveCredential(opts);
  if (!found) throw noAuth();
  return found;
}

async function readOauthToken(path: string): Promise<string | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { claudeAiOauth?: { accessToken?: unknown } };
    const token = parsed.claudeAiOauth?.accessToken;
    return typeof token === 'string' && token.length > 0 ? token : null;
  } catch {
    return null;
  }
}
