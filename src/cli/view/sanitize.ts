/**
 * Text that came out of a container is shown to a person only after this: a job's output is
 * written by whatever runs in the container, so it may carry terminal control sequences that
 * would set the window title (`ESC ] 0 ; … BEL`), clear the screen (`ESC [ 2 J`), move the
 * cursor, rewrite a line with `\r`, or ring the bell. None of them reaches the terminal.
 */

/** CSI (ESC [ or the 8-bit 0x9B): parameters, intermediates, one final byte. */
const CSI = String.raw`(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]`;
/** OSC, DCS, SOS, PM, APC (7- or 8-bit introducers) up to their terminator (BEL, ESC \ or ST). */
const STRING_SEQUENCE = String.raw`(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)`;
/** Any other escape: ESC, intermediates, a final byte (ESC c, ESC 7, ESC ( B …). */
const OTHER_ESCAPE = String.raw`\x1b[ -/]*[0-~]`;
const SEQUENCES = new RegExp(`${STRING_SEQUENCE}|${CSI}|${OTHER_ESCAPE}`, 'g');
/** What is left: C0 controls except tab and newline, DEL, C1 controls (a lone ESC, an unterminated OSC's introducer, \r, \b, BEL…). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** Text safe to print: no escape sequence or control character survives; tabs and newlines stay. */
export function sanitizeText(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(SEQUENCES, '').replace(CONTROLS, '');
}

/** One line of safe text: sanitised, with newlines and tabs turned into spaces and runs collapsed. */
export function sanitizeLine(text: string): string {
  return sanitizeText(text).replace(/\s+/g, ' ').trim();
}

/** At most `max` characters (code points), with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  if (max <= 0) return '';
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}
