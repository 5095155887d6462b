/**
 * `claude-pod mock-api`: serve the built-in mock of the Anthropic Messages API, to try claude-pod
 * (the CLI, or the OpenClaw plugin) without credentials. Prints the config that points at it.
 */
import { port as portArg } from '../arguments.js';
import type { Register } from '../program.js';

export const DEFAULT_MOCK_PORT = 8787;

export const register: Register = (program, ctx) => {
  program
    .command('mock-api')
    .summary('serve a mock of the Anthropic API, to try claude-pod without credentials')
    .description(
      'Serves the mock Messages API claude-pod tests with, on loopback, until Ctrl-C. Jobs pointed at it\n' +
        '(apiBaseUrl) get scripted answers: a prompt with [[mock:write-file path=a.txt content=hi]] writes a\n' +
        'file, [[mock:bash command="ls"]] runs a command, anything else is echoed.',
    )
    .option('-p, --port <port>', `TCP port (0: any free one)`, portArg, DEFAULT_MOCK_PORT)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (flags: { port: number; host: string }) => {
      const { createMockApi } = await import('../../mock-api/index.js');
      const api = await createMockApi({ host: flags.host, port: flags.port });
      const out = ctx.io.stdout;
      out.write(
        [
          `mock Anthropic API listening on ${api.url} (Ctrl-C stops it)`,
          '',
          'CLI:      claude-pod run --config mock.json "hello"   with mock.json:',
          `          {"apiBaseUrl": "${api.url}"}   and ANTHROPIC_API_KEY=mock-key in the environment`,
          'OpenClaw: in ~/.openclaw/openclaw.json, then restart the gateway:',
          `          "env": {"vars": {"ANTHROPIC_API_KEY": "mock-key"}},                      (top level)`,
          `          "apiBaseUrl": "${api.url}"            (in plugins.entries["claude-code"].config)`,
          '',
        ].join('\n'),
      );
      api.on('request', (r) => out.write(`${r.method} ${r.url} (scenario ${r.scenario})\n`));
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await api.close();
      ctx.exit(0);
    });
};
