import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorCodes, imageNotFound } from '../../../src/shared/errors.js';
import { claudeCodeTools, toAgentTool, type AgentToolLike } from '../../../src/tools/index.js';
import { busy, FakeSupervisor, jobStatus, sessionInfo } from './fake-supervisor.js';

const SEED_TOOLS = [
  'claude_code_start',
  'claude_code_status',
  'claude_code_output',
  'claude_code_cancel',
  'claude_code_cleanup',
  'claude_code_sessions',
];

function setup() {
  const supervisor = new FakeSupervisor();
  const tools = new Map<string, AgentToolLike>(
    claudeCodeTools.map((spec) => [spec.name, toAgentTool(spec, async () => supervisor)]),
  );
  const call = async (name: string, params: unknown) => {
    const result = await tools.get(name)!.execute('call-1', params);
    return { ...result, text: result.content[0]!.text, details: result.details as Record<string, unknown> };
  };
  return { supervisor, tools, call };
}

/** OpenClaw's grading rule (tool-result-error.ts in openclaw 2026.9.6), for the unit level. */
function gradedAsFailure(details: Record<string, unknown>): boolean {
  const status = typeof details.status === 'string' ? details.status.toLowerCase() : undefined;
  const explicit = details.ok === true || details.success === true;
  if (details.ok === false || details.success === false) return true;
  if (
    status &&
    ['failed', 'cancelled', 'error', 'timeout', 'aborted', 'killed', 'invalid'].includes(status) &&
    !explicit
  )
    return true;
  if (details.timedOut === true || Boolean(details.error)) return true;
  if (status === 'completed') return false;
  return typeof details.exitCode === 'number' && details.exitCode !== 0;
}

describe('the six tools', () => {
  it("have the seed's names, in its order, with labels, descriptions and schemas", () => {
    const { tools } = setup();
    expect([...tools.keys()]).toEqual(SEED_TOOLS);
    for (const tool of tools.values()) {
      expect(tool.label).toBeTruthy();
      expect(tool.description.length).toBeGreaterThan(120);
      expect(tool.parameters).toMatchObject({ type: 'object', additionalProperties: false });
      expect(tool.parameters).not.toHaveProperty('$schema');
      expect(tool.outputSchema).toHaveProperty('anyOf');
    }
  });

  it("take the seed's parameters", () => {
    const { tools } = setup();
    const params = (name: string) =>
      tools.get(name)!.parameters as { properties: object; required?: string[] };
    expect(Object.keys(params('claude_code_start').properties)).toEqual(['prompt', 'session_id']);
    expect(params('claude_code_start').required).toEqual(['prompt']);
    for (const name of ['claude_code_status', 'claude_code_cancel']) {
      expect(Object.keys(params(name).properties)).toEqual(['job_id', 'session_id']);
      expect(params(name).required).toEqual(['job_id']);
    }
    expect(Object.keys(params('claude_code_output').properties)).toEqual([
      'job_id',
      'session_id',
      'offset',
      'limit',
    ]);
    expect(Object.keys(params('claude_code_cleanup').properties)).toEqual([]);
    expect(Object.keys(params('claude_code_sessions').properties)).toEqual([]);
  });

  it('start returns jobId and sessionId and passes session_id through', async () => {
    const { call, supervisor } = setup();
    const result = await call('claude_code_start', { prompt: 'fix the tests', session_id: 'my-proj' });
    expect(supervisor.calls[0]).toEqual(['start', { prompt: 'fix the tests', sessionId: 'my-proj' }]);
    expect(result.details).toMatchObject({
      ok: true,
      jobId: 'job-new',
      sessionId: 'my-proj',
      status: 'pending',
    });
    expect(JSON.parse(result.text)).toMatchObject({
      jobId: 'job-new',
      sessionId: 'my-proj',
      status: 'pending',
      message: expect.stringMatching(/^Job started\. A notification arrives when it ends/),
    });
    expect(result.details).toMatchObject({ notifies: true });
  });

  it('start mentions a notification only when notifications are on', async () => {
    const { call, supervisor } = setup();
    supervisor.notificationsEnabled = false;
    const result = await call('claude_code_start', { prompt: 'x' });
    const { message } = JSON.parse(result.text) as { message: string };
    expect(message).toMatch(
      /No notification will arrive .*notifications are off.*claude_code_status in about 15 seconds/,
    );
    expect(message).not.toMatch(/A notification arrives/);
    expect(result.details).toMatchObject({ notifies: false, pollAfterSeconds: 15 });
  });

  it("status carries the seed's fields in its text and grades a failed job as a successful query", async () => {
    const { call, supervisor } = setup();
    supervisor.jobs.set(
      'job-1',
      jobStatus({
        status: 'failed',
        exitCode: 1,
        error: 'idle_timeout - No output for 120 seconds',
        errorCode: 'IDLE_TIMEOUT',
      }),
    );
    const result = await call('claude_code_status', { job_id: 'job-1' });
    const seedFields = [
      'status',
      'elapsedSeconds',
      'outputSize',
      'tailOutput',
      'lastOutputSecondsAgo',
      'activityState',
      'metrics',
      'exitCode',
      'error',
    ];
    expect(Object.keys(JSON.parse(result.text))).toEqual(expect.arrayContaining(seedFields));
    expect(result.details).toMatchObject({
      ok: true,
      status: 'failed',
      job: { exitCode: 1, errorCode: 'IDLE_TIMEOUT' },
    });
    expect(result.details).not.toHaveProperty('error');
    expect(result.details).not.toHaveProperty('exitCode');
    expect(gradedAsFailure(result.details)).toBe(false);
  });

  it('status suggests a polling interval only while the job runs', async () => {
    const { call, supervisor } = setup();
    supervisor.jobs.set('job-1', jobStatus({ elapsedSeconds: 100 }));
    expect((await call('claude_code_status', { job_id: 'job-1' })).details.pollAfterSeconds).toBe(50);
    supervisor.jobs.set('job-1', jobStatus({ status: 'completed', exitCode: 0 }));
    expect((await call('claude_code_status', { job_id: 'job-1' })).details.pollAfterSeconds).toBeNull();
  });

  it("output pages by byte offset with the seed's header line", async () => {
    const { call, supervisor } = setup();
    supervisor.jobs.set('job-1', jobStatus());
    const first = await call('claude_code_output', { job_id: 'job-1', limit: 10 });
    expect(first.details).toMatchObject({
      ok: true,
      offset: 0,
      nextOffset: 10,
      hasMore: true,
      content: '{"type":"s',
    });
    expect(first.text).toBe(
      '[job: job-1] [status: running] [bytes 0-10 of 36] [more available: next offset 10]\n\n{"type":"s',
    );
    const rest = await call('claude_code_output', { job_id: 'job-1', offset: 10 });
    expect(rest.details).toMatchObject({ hasMore: false, nextOffset: 36 });
  });

  it('cancel reports cancelled, and an ended job is left alone', async () => {
    const { call, supervisor } = setup();
    supervisor.jobs.set('job-1', jobStatus());
    const result = await call('claude_code_cancel', { job_id: 'job-1' });
    expect(result.details).toMatchObject({ ok: true, cancelled: true, status: 'cancelled' });
    expect(result.text.split('\n')[0]).toBe('Job job-1 cancelled.');
    expect(gradedAsFailure(result.details)).toBe(false);
    const again = await call('claude_code_cancel', { job_id: 'job-1' });
    expect(again.details).toMatchObject({ cancelled: false });
    expect(again.text.split('\n')[0]).toBe('Job job-1 is already cancelled, cannot cancel.');
    expect(supervisor.calls.filter(([c]) => c === 'cancel')).toHaveLength(1);
  });

  it("cleanup and sessions answer in the seed's words", async () => {
    const { call, supervisor } = setup();
    expect((await call('claude_code_cleanup', {})).text).toBe('No idle sessions to clean up.');
    supervisor.removed = ['a', 'b'];
    const cleaned = await call('claude_code_cleanup', {});
    expect(cleaned.text).toBe(
      'Cleaned up 2 idle session(s): a, b\n' +
        '- a: deleted its workspace /w/a and all files in it (2.0 KB)\n' +
        '- b: its workspace /w/b was kept (claude-pod did not create it)\n' +
        'Deleted 1 workspace(s); 2.0 KB freed.',
    );
    expect(cleaned.details).toMatchObject({ ok: true, removedSessions: ['a', 'b'], bytesFreed: 2048 });
    expect((await call('claude_code_sessions', {})).text).toBe('No active sessions.');
    supervisor.sessionList = [sessionInfo()];
    const listed = await call('claude_code_sessions', {});
    expect(listed.text).toBe(
      'Found 1 session(s):\n\nSession: sess-1\n  Age: 1h 1m\n  Last Active: 1m 5s ago\n  Messages: 2\n' +
        '  Active Job: job-1 (running)\n  Claude Session: c0ffee',
    );
    expect(listed.details).toMatchObject({ ok: true, sessions: [{ sessionId: 'sess-1' }] });
  });
});

describe('bad calls', () => {
  it.each([
    ['claude_code_status', {}, /"job_id" is required/],
    ['claude_code_status', { job_id: 42 }, /"job_id": expected string/],
    [
      'claude_code_status',
      { jobId: 'job-1' },
      /unknown parameter "jobId" \(claude_code_status takes "job_id", "session_id"\)/,
    ],
    ['claude_code_start', { prompt: '' }, /"prompt": must not be empty/],
    ['claude_code_output', { job_id: 'job-1', offset: -1 }, /"offset": .*>=0/],
    ['claude_code_output', { job_id: 'job-1', limit: 1.5 }, /"limit": expected int/],
    [
      'claude_code_cleanup',
      { force: true },
      /unknown parameter "force" \(claude_code_cleanup takes no parameters\)/,
    ],
    ['claude_code_sessions', null, null],
  ])('%s %j → a tool error that says what to fix', async (name, params, message) => {
    const { call } = setup();
    const result = await call(name, params);
    if (message === null) {
      expect(result.details.ok).toBe(true);
      return;
    }
    expect(result.details).toMatchObject({ ok: false, error: { code: ErrorCodes.INVALID_ARGUMENT } });
    expect(result.text).toMatch(message);
    expect(result.text).not.toMatch(/\n\s+at /);
    expect(gradedAsFailure(result.details)).toBe(true);
  });

  it.each([
    ['claude_code_start', { prompt: 'x', session_id: '../etc' }],
    ['claude_code_status', { job_id: 'job-1', session_id: 'a/b' }],
    ['claude_code_output', { job_id: 'job-1', session_id: '' }],
    ['claude_code_cancel', { job_id: 'job-1', session_id: 7 }],
  ])("%s %j → INVALID_SESSION_ID, the library's code and words", async (name, params) => {
    const { call, supervisor } = setup();
    const result = await call(name, params);
    expect(result.details).toMatchObject({ ok: false, error: { code: ErrorCodes.INVALID_SESSION_ID } });
    expect(result.text).toMatch(/Invalid session_id: /);
    expect(supervisor.calls.filter(([n]) => n !== 'status')).toEqual([]);
  });

  it('a job named with another session id is JOB_NOT_FOUND naming both, never answered', async () => {
    const { call, supervisor } = setup();
    supervisor.jobs.set('job-1', jobStatus({ status: 'running', sessionId: 'sess-1' }));
    for (const name of ['claude_code_status', 'claude_code_output', 'claude_code_cancel']) {
      const result = await call(name, { job_id: 'job-1', session_id: 'sess-other' });
      expect(result.details).toMatchObject({ ok: false, error: { code: 'JOB_NOT_FOUND' } });
      expect(result.text).toMatch(/job-1 is not in session sess-other/);
    }
    expect(supervisor.calls.map(([n]) => n)).not.toContain('cancel');
    expect(supervisor.calls.map(([n]) => n)).not.toContain('output');
    const ok = await call('claude_code_status', { job_id: 'job-1', session_id: 'sess-1' });
    expect(ok.details.ok).toBe(true);
  });

  it('supervisor errors keep their code and carry a hint; unknown errors carry no stack', async () => {
    const { call, supervisor } = setup();
    const missing = await call('claude_code_status', { job_id: 'job-nope' });
    expect(missing.details).toMatchObject({
      ok: false,
      error: { code: 'JOB_NOT_FOUND', message: 'Job not found: job-nope' },
    });
    expect(missing.text).toMatch(/returned by claude_code_start/);

    supervisor.startError = busy();
    expect((await call('claude_code_start', { prompt: 'x' })).text).toMatch(/claude_code_cancel/);
    supervisor.startError = imageNotFound('localhost/claude-pod-agent:latest');
    expect((await call('claude_code_start', { prompt: 'x' })).details).toMatchObject({
      error: {
        code: 'IMAGE_NOT_FOUND',
        hint: expect.stringMatching(/run `claude-pod setup` on the gateway host/),
      },
    });
    // The seed's image: the hint names it and the fix that works for it (not a bare `setup`).
    supervisor.startError = imageNotFound('ghcr.io/13rac1/openclaw-claude-code:latest');
    const seed = (await call('claude_code_start', { prompt: 'x' })).details as { error: { hint: string } };
    expect(seed.error.hint).toMatch(
      /^The container image ghcr\.io\/13rac1\/openclaw-claude-code:latest is missing on the gateway host\. .*seed plugin's image.*remove the "image" key.*claude-pod setup --config ~\/\.openclaw\/openclaw\.json/,
    );
    supervisor.startError = imageNotFound('registry.example/team/agent:1');
    expect((await call('claude_code_start', { prompt: 'x' })).details).toMatchObject({
      error: { hint: expect.stringMatching(/podman pull registry\.example\/team\/agent:1/) },
    });
    supervisor.startError = new TypeError('boom');
    const internal = await call('claude_code_start', { prompt: 'x' });
    expect(internal.details).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: 'Internal error: boom' },
    });
    expect(internal.text).not.toMatch(/\n\s+at /);
  });
});

describe('outputSchema', () => {
  it('describes every details value a tool returns, errors included', async () => {
    const { call, supervisor, tools } = setup();
    supervisor.jobs.set('job-1', jobStatus());
    supervisor.sessionList = [sessionInfo()];
    const samples: Array<[string, unknown]> = [
      ['claude_code_start', { prompt: 'x' }],
      ['claude_code_status', { job_id: 'job-1' }],
      ['claude_code_output', { job_id: 'job-1' }],
      ['claude_code_cancel', { job_id: 'job-1' }],
      ['claude_code_cleanup', {}],
      ['claude_code_sessions', {}],
      ['claude_code_status', { job_id: 'job-missing' }],
      ['claude_code_output', {}],
    ];
    for (const [name, params] of samples) {
      const schema = z.fromJSONSchema(tools.get(name)!.outputSchema as z.core.JSONSchema.JSONSchema);
      const { details } = await call(name, params);
      expect(schema.safeParse(details).success, `${name} ${JSON.stringify(details)}`).toBe(true);
    }
  });
});
