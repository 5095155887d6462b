import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import type { RefreshedLogin } from './login-file.js';

/** Claude Code's answer shape (proxy-options.ts says where it comes from). */
const answerSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().positive(),
});

export interface RefreshRequest {
  tokenUrl: string;
  clientId: string;
  refreshToken: string;
  scopes: readonly string[] | null;
  timeoutMs?: number;
  now?: () => number;
}

/** A refresh the endpoint refused or that could not be done. Holds a status, never a token. */
export class TokenRefreshError extends Error {
  constructor(
    message: string,
    /** The endpoint's HTTP status, or null when it was not reached / did not answer in time. */
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'TokenRefreshError';
  }

  /** 400/401/403: the refresh token itself is no good; retrying will not help until a new login. */
  get permanent(): boolean {
    return this.status === 400 || this.status === 401 || this.status === 403;
  }
}

const MAX_ANSWER_BYTES = 64 * 1024;

/** `POST tokenUrl` with the refresh token, as Claude Code does it; the new login or a TokenRefreshError. */
export function refreshLogin(req: RefreshRequest): Promise<RefreshedLogin> {
  const url = new URL(req.tokenUrl);
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!transport)
    return Promise.reject(new TokenRefreshError(`unsupported token URL scheme ${url.protocol}`, null));
  const body: Record<string, string> = {
    grant_type: 'refresh_token',
    refresh_token: req.refreshToken,
    client_id: req.clientId,
  };
  if (req.scopes && req.scopes.length > 0) body.scope = req.scopes.join(' ');
  const payload = JSON.stringify(body);
  const now = req.now ?? Date.now;
  return new Promise((resolve, reject) => {
    const outgoing = transport.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: req.timeoutMs ?? 15_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) res.destroy(new Error('answer too large'));
          else chunks.push(chunk);
        });
        res.on('error', (error) => reject(new TokenRefreshError(`token endpoint: ${error.message}`, null)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          // The body is not quoted in any message: a success holds tokens, an error may echo them.
          if (status !== 200) {
            reject(new TokenRefreshError(`token endpoint answered ${status}`, status));
            return;
          }
          let parsed: z.infer<typeof answerSchema>;
          try {
            parsed = answerSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new TokenRefreshError('token endpoint answered 200 with an unexpected body', status));
            return;
          }
          resolve({
            accessToken: parsed.access_token,
            refreshToken: parsed.refresh_token ?? req.refreshToken,
            expiresAt: now() + parsed.expires_in * 1000,
          });
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', (error) => reject(new TokenRefreshError(`token endpoint: ${error.message}`, null)));
    outgoing.end(payload);
  });
}
