/** `claude-pod doctor`: check the host — runtime, image, enforced limits, auth, directories. */
import { loadConfig } from '../open-supervisor.js';
import { configOption, jsonOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';

export const register: Register = (program, ctx) => {
  program
    .command('doctor')
    .summary('check the runtime, the image, enforced limits, authentication and directories')
    .description(
      'Checks the container runtime, the agent image (and the claude/node versions inside it), whether\n' +
        'memory/CPU/PID limits are actually enforced (measured inside a probe container), AppArmor,\n' +
        'authentication (presence only, never a secret) and the session/workspace directories.\n' +
        'Exits 1 when a hard requirement fails.',
    )
    .addOption(jsonOption('print the report as JSON'))
    .addOption(configOption())
    .action(async (flags: ConfigFlag & { json?: boolean }) => {
      const [{ runDoctor }, { formatReport }] = await Promise.all([
        import('../../doctor/doctor.js'),
        import('../../doctor/checks.js'),
      ]);
      const report = await runDoctor(await loadConfig(flags.config));
      ctx.io.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
      ctx.exit(report.ok ? 0 : 1);
    });
};
