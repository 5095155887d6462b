import { parseArgs } from 'node:util';
import { formatReport } from '../../doctor/checks.js';
import { runDoctor } from '../../doctor/doctor.js';
import { loadCliConfig } from '../../setup/config-file.js';

const HELP = `Usage: claude-pod doctor [--config <file.json>] [--json]

Checks the container runtime, the agent image (and the claude/node versions inside it), whether
memory/CPU/PID limits are actually enforced (measured inside a probe container), AppArmor,
authentication (presence only) and the session/workspace directories. Exits 1 when a hard
requirement fails.

  --config <file>  claude-pod config (or a whole openclaw.json)
  --json           print the report as JSON
  -h, --help       show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const report = await runDoctor(await loadCliConfig(values.config));
  process.stdout.write((values.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
  return report.ok ? 0 : 1;
}
