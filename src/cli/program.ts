/**
 * The `claude-pod` command line: commander parses (subcommands, help, option arguments), each
 * command lives in ./commands/<name>.ts and registers itself. Every argument error is a usage
 * error — exit 2 with a message naming the option and its right form — never an INTERNAL one.
 */
import { Command, CommanderError } from 'commander';
import { isClaudePodError } from '../shared/errors.js';
import { packageVersion } from '../shared/version.js';
import { UsageError } from './arguments.js';
import { register as cancel } from './commands/cancel.js';
import { register as cleanup } from './commands/cleanup.js';
import { register as demo } from './commands/demo.js';
import { register as doctor } from './commands/doctor.js';
import { register as logs } from './commands/logs.js';
import { register as mockApi } from './commands/mock-api.js';
import { register as output } from './commands/output.js';
import { register as run } from './commands/run.js';
import { register as serve } from './commands/serve.js';
import { register as sessions } from './commands/sessions.js';
import { register as setup } from './commands/setup.js';
import { register as status } from './commands/status.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { processIo, type CliIo } from './io.js';
import { cliHint } from './view/hints.js';

/** What a command's action gets besides its arguments. */
export interface CommandContext {
  io: CliIo;
  /** The command's exit code (the action's return value is ignored by commander). */
  exit(code: number): void;
}

export type Register = (program: Command, ctx: CommandContext) => void;

/** In help order. */
const COMMANDS: Register[] = [
  run,
  logs,
  status,
  output,
  cancel,
  sessions,
  cleanup,
  setup,
  doctor,
  demo,
  serve,
  mockApi,
];

export function buildProgram(ctx: CommandContext): Command {
  const { io } = ctx;
  const program = new Command('claude-pod')
    .description('Run Claude Code sessions as background jobs in locked-down containers.')
    .version(packageVersion(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput(outputFor('claude-pod', io))
    .showHelpAfterError('(see: claude-pod --help)')
    .addHelpText(
      'after',
      '\nJob commands take --config FILE (a claude-pod config or a whole openclaw.json).\n' +
        'Exit codes: 0 completed, 1 failed, 2 usage error, 130 cancelled.',
    );
  for (const register of COMMANDS) register(program, ctx);
  for (const sub of program.commands) {
    sub
      .exitOverride()
      .configureOutput(outputFor(`claude-pod ${sub.name()}`, io))
      .showHelpAfterError(
        `usage: claude-pod ${sub.name()} ${sub.usage()}\n(see: claude-pod ${sub.name()} --help)`,
      );
  }
  return program;
}

function outputFor(prefix: string, io: CliIo) {
  return {
    writeOut: (text: string) => void io.stdout.write(text),
    writeErr: (text: string) => void io.stderr.write(text),
    outputError: (text: string, write: (s: string) => void) =>
      write(`${prefix}: ${text.replace(/^error: /, '')}`),
  };
}

/** Runs one command line; resolves with the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram({ io, exit: (c) => (code = c) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    return reportError(error, io);
  }
}

export function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and --version "exit" with 0; everything else commander rejects is a usage error.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof UsageError) {
    io.stderr.write(
      `claude-pod ${error.command}: ${error.message}\n(see: claude-pod ${error.command} --help)\n`,
    );
    return EXIT.usage;
  }
  if (isClaudePodError(error)) {
    io.stderr.write(`claude-pod: [${error.code}] ${error.message}\n`);
    const hint = cliHint(error.code, error.details);
    if (hint) io.stderr.write(`hint: ${hint}\n`);
    return exitCodeForError(error.code);
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`claude-pod: unexpected error: ${message}\n`);
  if (io.env.CLAUDE_POD_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return EXIT.failed;
}
