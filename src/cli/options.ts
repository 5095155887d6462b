/** Options several commands share, defined once so their help reads the same everywhere. */
import { Option } from 'commander';

export const configOption = (): Option =>
  new Option(
    '-c, --config <file>',
    'a claude-pod config file, or a whole openclaw.json (its claude-code plugin entry)',
  );

export const jsonOption = (what = 'print JSON instead of text'): Option => new Option('--json', what);

/** --json and --raw for the commands that show a job's output. */
export const viewOptions = (): Option[] => [
  new Option(
    '--json',
    'NDJSON events for scripts (init, text, tool, status, end …) instead of the live view',
  ).conflicts('raw'),
  new Option('--raw', "the job's stream-json exactly as stored, instead of the live view"),
];

export interface ViewFlags {
  json?: boolean;
  raw?: boolean;
}

export interface ConfigFlag {
  config?: string;
}
