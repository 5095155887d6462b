/**
 * Where the human view writes. On a terminal, log lines scroll above one status line that is
 * rewritten in place (carriage return + erase line; no other cursor movement). Piped, there is
 * no status line at all: only whole lines, never a control sequence of ours.
 */
import type { OutStream } from '../io.js';

export interface Screen {
  readonly width: number | null;
  log(line: string): void;
  status(line: string): void;
  clearStatus(): void;
}

const ERASE_LINE = '\r\x1b[2K';

export class TerminalScreen implements Screen {
  private current = '';

  constructor(private readonly out: OutStream) {}

  get width(): number | null {
    return this.out.columns && this.out.columns > 0 ? this.out.columns : 80;
  }

  log(line: string): void {
    this.out.write(`${this.current ? ERASE_LINE : ''}${line}\n${this.current}`);
  }

  status(line: string): void {
    if (line === this.current) return;
    this.current = line;
    this.out.write(`${ERASE_LINE}${line}`);
  }

  clearStatus(): void {
    if (!this.current) return;
    this.current = '';
    this.out.write(ERASE_LINE);
  }
}

export class PlainScreen implements Screen {
  readonly width = null;

  constructor(private readonly out: OutStream) {}

  log(line: string): void {
    this.out.write(`${line}\n`);
  }

  status(): void {}

  clearStatus(): void {}
}
