/** `claude-pod output JOB [--offset N] [--limit N]`: one page of a job's raw output, by byte offset. */
import { byteLimit, byteOffset } from '../arguments.js';
import { loadConfig, withSupervisor } from '../open-supervisor.js';
import { configOption, jsonOption, type ConfigFlag } from '../options.js';
import type { Register } from '../program.js';

export const register: Register = (program, ctx) => {
  program
    .command('output')
    .summary("one page of a job's raw stream-json output, by byte offset")
    .argument('<job>', 'the job id')
    .option(
      '--offset <bytes>',
      'byte offset to start at (default 0; a previous nextOffset continues)',
      byteOffset,
    )
    .option('--limit <bytes>', 'bytes to read at most (default 65536)', byteLimit)
    .addOption(jsonOption('print the page (content, offset, nextOffset, size, hasMore) as JSON'))
    .addOption(configOption())
    .action(
      async (jobId: string, flags: ConfigFlag & { json?: boolean; offset?: number; limit?: number }) => {
        const { io } = ctx;
        const config = await loadConfig(flags.config);
        await withSupervisor(config, async (api) => {
          const page = await api.output(jobId, {
            ...(flags.offset === undefined ? {} : { offset: flags.offset }),
            ...(flags.limit === undefined ? {} : { limit: flags.limit }),
          });
          if (flags.json) io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
          else {
            io.stdout.write(page.content);
            if (page.hasMore)
              io.stderr.write(`(more: claude-pod output ${jobId} --offset ${page.nextOffset})\n`);
          }
        });
        ctx.exit(0);
      },
    );
};
