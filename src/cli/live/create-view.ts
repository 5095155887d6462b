import type { CliIo } from '../io.js';
import { colorEnabled, makeColors } from '../view/colors.js';
import { HumanView } from './human-view.js';
import type { JobView, ViewMode } from './job-view.js';
import { JsonView } from './json-view.js';
import { RawView } from './raw-view.js';
import { PlainScreen, TerminalScreen } from './screen.js';

/** The view for `--json`, `--raw` or a person (live on a terminal, plain lines when piped). */
export function createView(mode: ViewMode, io: CliIo): JobView {
  switch (mode) {
    case 'json':
      return new JsonView(io.stdout, io.stderr);
    case 'raw':
      return new RawView(io.stdout, io.stderr, makeColors(colorEnabled(io.stderr.isTTY === true, io.env)));
    case 'human': {
      const tty = io.stdout.isTTY === true;
      const colors = makeColors(colorEnabled(tty, io.env));
      return new HumanView(
        tty ? new TerminalScreen(io.stdout) : new PlainScreen(io.stdout),
        colors,
        Date.now,
        tty,
      );
    }
  }
}

export function viewMode(opts: { json?: boolean; raw?: boolean }): ViewMode {
  return opts.raw ? 'raw' : opts.json ? 'json' : 'human';
}
