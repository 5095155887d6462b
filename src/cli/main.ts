#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isClaudePodError } from '../shared/errors.js';
import { packageRoot } from '../shared/paths.js';

/** Each subcommand lives in ./commands/<name>.js and exports `run(argv): Promise<number>`. */
const COMMANDS: Record<string, string> = {
  setup: 'Install the container runtime if needed and build the agent image (idempotent)',
  doctor: 'Check the runtime, the image, enforced limits, auth and directories',
  demo: 'Run a short demonstration job end to end',
  run: 'Start a job ("<prompt>" [--session ID] [--detach]) and follow its output to the end',
  status: 'Show one job (JOB_ID) or all jobs',
  output: "Print a job's output (JOB_ID [--offset N] [--limit N])",
  cancel: 'Cancel a job (JOB_ID)',
  sessions: 'List sessions',
  cleanup: 'Remove idle sessions ([--older-than SECONDS])',
  serve: 'Own the state directory as a daemon ([--idle-exit SECONDS]); job commands start it when needed',
};

interface CommandModule {
  run(argv: string[]): Promise<number>;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: claude-pod <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(width)}  ${text}`),
    '',
    'Options:',
    '  -h, --help     Show this help (or `claude-pod <command> --help`)',
    '  -v, --version  Print the version',
    '',
    'Job commands take --config FILE (plugin config or a whole openclaw.json) and --json.',
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  // Global options come before the command; everything after it belongs to the command.
  const at = argv.findIndex((arg) => !arg.startsWith('-'));
  const globalArgs = at === -1 ? argv : argv.slice(0, at);
  const name = at === -1 ? undefined : argv[at];
  let values: { help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: globalArgs,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    }));
  } catch (error) {
    process.stderr.write(`claude-pod: ${(error as Error).message}\n\n${usage()}\n`);
    return 2;
  }
  if (values.version) {
    process.stdout.write(version() + '\n');
    return 0;
  }
  if (values.help || name === undefined) {
    process.stdout.write(usage() + '\n');
    return values.help ? 0 : 2;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    process.stderr.write(`claude-pod: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = (await import(`./commands/${name}.js`)) as CommandModule;
  } catch (error) {
    process.stderr.write(
      `claude-pod: the "${name}" command could not be loaded: ${(error as Error).message}\n`,
    );
    return 1;
  }
  if (typeof mod.run !== 'function') {
    process.stderr.write(`claude-pod: ./commands/${name}.js does not export run(argv)\n`);
    return 1;
  }
  return mod.run(argv.slice(at + 1));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = isClaudePodError(error) ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`claude-pod: ${code}: ${message}\n`);
    process.exitCode = 1;
  },
);
