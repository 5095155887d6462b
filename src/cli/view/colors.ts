/**
 * Whether to colour a stream, by the conventions people set: `NO_COLOR` (any non-empty value)
 * turns colour off, `FORCE_COLOR` turns it on (`0` or `false`: off) even when piped, otherwise a
 * terminal gets colour unless `TERM=dumb`. The palette itself is picocolors'.
 */
import picocolors from 'picocolors';

export type Colors = ReturnType<typeof picocolors.createColors>;

export function colorEnabled(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !/^(0|false)$/i.test(force);
  return isTTY && env.TERM !== 'dumb';
}

export function makeColors(enabled: boolean): Colors {
  return picocolors.createColors(enabled);
}
