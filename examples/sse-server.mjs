#!/usr/bin/env node
// A plain Node HTTP server that starts a Claude Code job and streams it to the browser as
// server-sent events. Run: node examples/sse-server.mjs [config.json]   (PORT=8080 to choose a port)
//   POST /jobs            body: the prompt      → 201 {"jobId", "sessionId"}
//   GET  /jobs/:id/events                       → text/event-stream: `status` (snapshots),
//                                                 `output` (one stream-json line each), `end`
//   GET  /                                      → a page that does both
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createSupervisor } from 'claude-pod';

const config = process.argv[2] ? JSON.parse(readFileSync(process.argv[2], 'utf8')) : {};
const supervisor = await createSupervisor(config);

const PAGE = `<!doctype html><meta charset="utf-8"><title>claude-pod</title>
<form><input name="p" size="60" placeholder="What should Claude Code do?"><button>Run</button></form><pre id="log"></pre>
<script>
const log = (t) => (document.getElementById('log').textContent += t + '\\n');
document.querySelector('form').onsubmit = async (e) => {
  e.preventDefault();
  const { jobId } = await (await fetch('/jobs', { method: 'POST', body: e.target.p.value })).json();
  const events = new EventSource('/jobs/' + jobId + '/events');
  events.addEventListener('output', (m) => log(m.data));
  events.addEventListener('end', (m) => { log('end: ' + m.data); events.close(); });
};
</script>`;

/** Follows one job: output by byte offset whenever the supervisor reports progress, then the end. */
function streamJob(jobId, res) {
  const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  let offset = 0;
  let pending = '';
  let reading = Promise.resolve();
  const read = () =>
    (reading = reading.then(async () => {
      for (let page; !page || page.hasMore;) {
        page = await supervisor.output(jobId, { offset });
        offset = page.nextOffset;
        const lines = (pending + page.content).split('\n');
        pending = lines.pop();
        for (const line of lines) if (line) send('output', JSON.parse(line));
      }
    }));
  const onProgress = (s) => s.jobId === jobId && (send('status', s), read());
  const onEnd = async (s) => {
    if (s.jobId !== jobId) return;
    await read();
    send('end', s);
    stop();
    res.end();
  };
  const stop = () => (supervisor.off('job:progress', onProgress), supervisor.off('job:end', onEnd));
  supervisor.on('job:progress', onProgress);
  supervisor.on('job:end', onEnd);
  res.on('close', stop);
  const now = supervisor.status(jobId);
  send('status', now);
  if (['completed', 'failed', 'cancelled'].includes(now.status)) void onEnd(now);
  else void read();
}

const server = createServer(async (req, res) => {
  try {
    const events = /^\/jobs\/([\w-]+)\/events$/.exec(req.url ?? '');
    if (req.method === 'POST' && req.url === '/jobs') {
      let prompt = '';
      for await (const chunk of req) prompt += chunk;
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify(await supervisor.start({ prompt })));
    } else if (req.method === 'GET' && events) {
      supervisor.status(events[1]); // JOB_NOT_FOUND → 404, before the stream starts
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      streamJob(events[1], res);
    } else if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  } catch (error) {
    res.writeHead(error.code === 'JOB_NOT_FOUND' ? 404 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: error.code, message: error.message }));
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
const shutdown = () => server.close(() => void supervisor.close().then(() => process.exit(0)));
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
