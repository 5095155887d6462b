/**
 * Ctrl-C while `run` watches a job. At a terminal the view puts the terminal in raw mode, so
 * Ctrl-C arrives as a key instead of a SIGINT to the whole process group (which would also
 * reach the container runtime's client process and end the job), and asks whether to cancel
 * the job or detach from it; a second Ctrl-C at the question cancels. `--cancel-on-exit`
 * cancels without asking. Without a terminal, SIGINT detaches (or cancels, with the flag);
 * SIGTERM and SIGHUP do the same without asking.
 */
import type { CliIo } from '../io.js';

export type InterruptChoice = 'cancel' | 'detach' | 'resume';

export const INTERRUPT_QUESTION =
  'Interrupted: [c] cancel the job  [d] detach (the job keeps running)  [any other key] keep watching';

/** The answer to one key press at the question. */
export function choiceForKey(key: string): InterruptChoice {
  const k = key.toLowerCase();
  if (k === 'c' || k === 'y' || key === '\x03') return 'cancel';
  if (k === 'd' || key === '\x04' || key === '\x1c') return 'detach';
  return 'resume';
}

export interface InterruptOptions {
  cancelOnExit: boolean;
  /** Show the question (the view pauses and shows it in place of its status line); absent: Ctrl-C detaches. */
  ask?: (question: string) => void;
  decide: (choice: InterruptChoice) => void;
}

/** Installs the handling for one watch; returns the function that removes it and restores the terminal. */
export function handleInterrupts(io: CliIo, opts: InterruptOptions): () => void {
  const stdin = io.stdin;
  const interactive =
    stdin.isTTY === true && io.stdout.isTTY === true && typeof stdin.setRawMode === 'function';
  let asking = false;
  const interrupted = () => {
    if (opts.cancelOnExit) return opts.decide('cancel');
    if (!interactive || !opts.ask) return opts.decide('detach');
    asking = true;
    opts.ask(INTERRUPT_QUESTION);
  };
  const onKey = (chunk: Buffer | string) => {
    const key = String(chunk).slice(0, 1);
    if (asking) {
      asking = false;
      opts.decide(choiceForKey(key));
    } else if (key === '\x03') {
      interrupted();
    }
  };
  const onTerminate = () => opts.decide(opts.cancelOnExit ? 'cancel' : 'detach');
  if (interactive) {
    stdin.setRawMode?.(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', onTerminate);
  process.on('SIGHUP', onTerminate);
  return () => {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', onTerminate);
    process.off('SIGHUP', onTerminate);
    if (interactive) {
      stdin.off('data', onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
  };
}
