import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino redacts in every claude-pod log (the plugin's gateway logger uses them too). */
export const REDACT_PATHS = [
  'hooksToken',
  'token',
  'apiKey',
  'authorization',
  '*.hooksToken',
  '*.token',
  '*.apiKey',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
];

/**
 * One pino logger for the library. Secrets are redacted by path wherever they could appear;
 * callers never log a token on purpose, this is the second fence.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'claude-pod',
      level: options.level ?? process.env.CLAUDE_POD_LOG_LEVEL ?? 'info',
      redact: {
        paths: REDACT_PATHS,
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 2, sync: false }),
  );
}

/** A logger that drops everything: the default for library users who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
