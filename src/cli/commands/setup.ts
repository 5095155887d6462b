import { parseArgs } from 'node:util';
import { loadCliConfig } from '../../setup/config-file.js';
import { runSetup } from '../../setup/setup.js';

const HELP = `Usage: claude-pod setup [--config <file.json>] [--rebuild]

Installs podman with apt when it is missing (root on Debian/Ubuntu), probes which OCI runtime works,
creates a Debian base image (pulled, or debootstrapped when no registry is reachable) and builds the
agent image. Safe to rerun: finished steps are skipped.

  --config <file>  claude-pod config (or a whole openclaw.json)
  --rebuild        build the agent image even when it is current
  -h, --help       show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      rebuild: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const config = await loadCliConfig(values.config);
  await runSetup({ config, rebuild: values.rebuild ?? false });
  return 0;
}
