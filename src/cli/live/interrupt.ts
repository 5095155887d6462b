/**
 * Ctrl-C while `run` watches a job: on a terminal, ask whether to cancel the job or detach from
 * it (it keeps running); `--cancel-on-exit` decides without asking, and so does a stdin that is
 * not a terminal (detach, unless --cancel-on-exit). A second Ctrl-C at the question cancels.
 */
import type { CliIo } from '../io.js';

export type InterruptChoice = 'cancel' | 'detach' | 'resume';

/** The answer to one key press at the question. */
export function choiceForKey(key: string): InterruptChoice {
  const k = key.toLowerCase();
  if (k === 'c' || k === 'y' || key === '\x03') return 'cancel';
  if (k === 'd' || key === '\x04' || key === '\x1c') return 'detach';
  return 'resume';
}

export const INTERRUPT_QUESTION =
  'Interrupted: [c] cancel the job  [d] detach (the job keeps running)  [any other key] keep watching';

/** Asks on the terminal and reads one key (raw mode, restored afterwards). */
export function askInterrupt(io: CliIo): Promise<InterruptChoice> {
  const stdin = io.stdin;
  io.stdout.write(`\r\x1b[2K${INTERRUPT_QUESTION} `);
  return new Promise((resolve) => {
    const onData = (chunk: Buffer | string) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      const choice = choiceForKey(String(chunk).slice(0, 1));
      io.stdout.write(`${choice}\n`);
      resolve(choice);
    };
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/**
 * Installs the SIGINT/SIGTERM/SIGHUP handling for one watch; `decide` gets each choice. Returns
 * the function that removes it.
 */
export function handleInterrupts(
  io: CliIo,
  opts: { cancelOnExit: boolean; onAsk: () => void; decide: (choice: InterruptChoice) => void },
): () => void {
  let asking = false;
  const interactive = io.stdin.isTTY === true && io.stdout.isTTY === true;
  const onSigint = () => {
    if (asking) return;
    if (opts.cancelOnExit) return opts.decide('cancel');
    if (!interactive) return opts.decide('detach');
    asking = true;
    opts.onAsk();
    void askInterrupt(io).then((choice) => {
      asking = false;
      opts.decide(choice);
    });
  };
  const onTerminate = () => opts.decide(opts.cancelOnExit ? 'cancel' : 'detach');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onTerminate);
  process.on('SIGHUP', onTerminate);
  return () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onTerminate);
    process.off('SIGHUP', onTerminate);
  };
}
