/**
 * Where Claude Code itself refreshes its OAuth login, as found in the pinned CLI
 * (@anthropic-ai/claude-code-linux-x64@2.1.331, bin/claude.exe: the production OAuth config object
 * `{BASE_API_URL:"https://api.anthropic.com",…,TOKEN_URL:"https://platform.claude.com/v1/oauth/token",…,
 * CLIENT_ID:"9d1c250a-e61b-44d9-88ed-5944d1962f5e",…}`, near byte offset 326686190 of that binary;
 * `grep -ao 'TOKEN_URL:"[^"]*"' claude.exe` shows it). Its refresh is `POST TOKEN_URL` with the JSON
 * body `{grant_type:"refresh_token", refresh_token, client_id, scope}` and the answer
 * `{access_token, refresh_token?, expires_in}`; src/proxy/oauth/token-endpoint.ts does the same.
 */
export const DEFAULT_OAUTH_TOKEN_URL = 'https://platform.claude.com/v1/oauth/token';
export const DEFAULT_OAUTH_CLIENT_ID = '9d1c250a-e61b-44d9-88ed-5944d1962f5e';
/** Claude Code refreshes 5 minutes before `expiresAt`; so do we. */
export const DEFAULT_REFRESH_MARGIN_SECONDS = 300;
