/** `claude-pod setup`: install/check the container runtime and build the agent image (idempotent). */
import { loadConfig } from '../open-supervisor.js';
import { configOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';

export const register: Register = (program, ctx) => {
  program
    .command('setup')
    .summary('install podman if needed and build the agent image (safe to rerun)')
    .description(
      'Installs podman with apt when it is missing (root on Debian/Ubuntu), probes which OCI runtime works,\n' +
        'creates a Debian base image (pulled, or debootstrapped when no registry is reachable) and builds the\n' +
        'agent image for this machine (linux-x64 or linux-arm64) under the configured name. Finished steps are\n' +
        'skipped, so a rerun takes about a second.',
    )
    .option('--rebuild', 'build the agent image even when it is current')
    .addOption(configOption())
    .action(async (flags: ConfigFlag & { rebuild?: boolean }) => {
      const { runSetup } = await import('../../setup/setup.js');
      await runSetup({ config: await loadConfig(flags.config), rebuild: flags.rebuild ?? false });
      ctx.exit(0);
    });
};
