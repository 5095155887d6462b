/**
 * Option-argument parsers. Each rejects a bad value with commander's InvalidArgumentError, so
 * the person sees the option's name, the value and the right form, and the CLI exits 2 (usage).
 */
import { InvalidArgumentError } from 'commander';
import { MAX_READ_LIMIT } from '../workers/output-reader.js';

export function byteOffset(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(
      'expected a byte offset, a whole number ≥ 0 (e.g. --offset 0 or --offset=4096).',
    );
  }
  return Number(value);
}

export function byteLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_READ_LIMIT) {
    throw new InvalidArgumentError(
      `expected a number of bytes from 1 to ${MAX_READ_LIMIT} (e.g. --limit 65536).`,
    );
  }
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
    throw new InvalidArgumentError('expected a number of seconds ≥ 0 (e.g. --older-than 3600).');
  }
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError('expected a TCP port from 0 to 65535 (0: any free port).');
  }
  return n;
}

/** A usage error found after parsing (exit 2). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
