#!/usr/bin/env node
/**
 * `node dist/mock-api/main.js [--port N] [--host H] [--socket PATH] [--scenario NAME]`
 * Starts the mock Messages API, prints `{"url":…,"socketPath":…}` as one JSON line on stdout,
 * logs one JSON line per request on stderr, and stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { createMockApi } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    socket: { type: 'string' },
    scenario: { type: 'string' },
  },
});

const api = await createMockApi({
  host: values.host,
  port: Number(values.port),
  ...(values.socket === undefined ? {} : { socketPath: values.socket }),
  ...(values.scenario === undefined ? {} : { scenario: values.scenario }),
});
api.on('request', (r) => {
  process.stderr.write(
    `${JSON.stringify({ seq: r.seq, method: r.method, url: r.url, scenario: r.scenario })}\n`,
  );
});
process.stdout.write(`${JSON.stringify({ url: api.url, socketPath: api.socketPath })}\n`);

const stop = (): void => {
  void api.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
