import { pino, type Logger } from 'pino';
import { REDACT_PATHS } from '../shared/logger.js';
import type { PluginLogger } from './sdk-types.js';

const LEVELS: Record<number, 'debug' | 'info' | 'warn' | 'error'> = {
  10: 'debug',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'error',
};

/**
 * A pino logger (what the library takes) that writes through the gateway's plugin logger, so
 * claude-pod's lines land in the gateway log with its level and prefix. Fields other than the
 * message are appended as compact JSON.
 */
export function gatewayLogger(
  target: PluginLogger,
  level = process.env.CLAUDE_POD_LOG_LEVEL ?? 'info',
): Logger {
  const stream = {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        target.info(line.trimEnd());
        return;
      }
      const { level: num, msg, time: _t, pid: _p, hostname: _h, name: _n, ...fields } = record;
      const method = LEVELS[Number(num)] ?? 'info';
      const text = `${typeof msg === 'string' ? msg : ''}${Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}`;
      const write = method === 'debug' ? (target.debug ?? (() => undefined)) : target[method];
      write.call(target, text);
    },
  };
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: null }, stream);
}
