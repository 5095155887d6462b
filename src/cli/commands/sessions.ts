/** `claude-pod sessions`: every session as a table. */
import { loadConfig, withSupervisor } from '../open-supervisor.js';
import { configOption, jsonOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';
import { colorEnabled, makeColors } from '../view/colors.js';
import { sessionsTable } from '../view/jobs.js';

export const register: Register = (program, ctx) => {
  program
    .command('sessions')
    .summary('every session: age, last activity, messages, active job, workspace')
    .addOption(jsonOption('print the sessions as JSON'))
    .addOption(configOption())
    .action(async (flags: ConfigFlag & { json?: boolean }) => {
      const { io } = ctx;
      const config = await loadConfig(flags.config);
      await withSupervisor(config, async (api) => {
        const sessions = api.sessions();
        const c = makeColors(colorEnabled(io.stdout.isTTY === true, io.env));
        io.stdout.write(
          flags.json
            ? `${JSON.stringify(sessions, null, 2)}\n`
            : `${sessionsTable(sessions, c).join('\n')}\n`,
        );
      });
      ctx.exit(0);
    });
};
