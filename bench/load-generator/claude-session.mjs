/**
 * A synthetic Claude Code session with the shape and pacing of a real one (stream-json, as
 * `claude -p --output-format stream-json --verbose` prints it): an `init` line, then turns of
 * "thinking" (quiet: short gaps, and long ones of several seconds), an assistant text line, one to
 * four `tool_use` lines (Read, Grep, Bash, Edit, Write; an Edit or Write carries a 5–40 KB input),
 * a tool-execution gap, and the tool results arriving as a burst (a Read returns 10–100 KB of
 * numbered file lines with the same mix of multi-byte text as the recording); the `result` last.
 * On average a job prints a few tens of KB per second, in bursts.
 *
 * Deterministic: the plan is a function of the job's name (its seed) and the duration, so the
 * benchmark computes the bytes every job must have written without running anything.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RECORDING = fileURLToPath(new URL('../../test/fixtures/streams/tool-use.jsonl', import.meta.url));

/** File lines to quote from, JSON-escaped once, taken from the recording's tool results. */
let quoted = null;
function quotedLines() {
  if (quoted) return quoted;
  const lines = new Set();
  for (const line of readFileSync(RECORDING, 'utf8').split('\n')) {
    if (!line.startsWith('{"type":"user"')) continue;
    const content = JSON.parse(line).message.content[0].content;
    const text = typeof content === 'string' ? content : JSON.stringify(content);
    for (const l of text.split('\n')) lines.add(l.replace(/^\s*\d+→/, ''));
  }
  quoted = [...lines].filter((l) => l.length > 0).map((l) => JSON.stringify(l).slice(1, -1));
  return quoted;
}

function seedOf(name) {
  return createHash('sha256').update(name).digest().readUInt32LE(0);
}

/** mulberry32: small, fast, good enough for a load shape. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODEL = 'claude-sonnet-4-5-20250929';
const TOOLS = [
  'Task',
  'Bash',
  'Glob',
  'Grep',
  'Read',
  'Edit',
  'Write',
  'TodoWrite',
  'WebFetch',
  'BashOutput',
];

/**
 * @param {string} name the job's container name (its seed)
 * @param {{durationMs?: number}} [opts]
 * @returns {{events: Array<{at: number, bytes: Buffer}>, totalBytes: number}}
 */
export function sessionPlan(name, opts = {}) {
  const durationMs = opts.durationMs ?? 30_000;
  const rnd = prng(seedOf(name));
  const between = (lo, hi) => lo + rnd() * (hi - lo);
  const pick = (items) => items[Math.floor(rnd() * items.length)];
  const pool = quotedLines();
  const sessionId = createHash('sha256').update(`session:${name}`).digest('hex').slice(0, 32);
  const sid = `${sessionId.slice(0, 8)}-${sessionId.slice(8, 12)}-${sessionId.slice(12, 16)}-${sessionId.slice(16, 20)}-${sessionId.slice(20)}`;
  let serial = 0;
  const uuid = () => `${sid.slice(0, 24)}${(serial++).toString(16).padStart(12, '0')}`;
  const toolId = () => `toolu_${createHash('sha1').update(`${name}:${serial++}`).digest('hex').slice(0, 24)}`;
  /** About `bytes` of numbered, escaped file lines (whole escaped lines: never a broken escape). */
  const fileText = (bytes) => {
    const parts = [];
    let size = 0;
    let at = Math.floor(rnd() * pool.length);
    for (let n = 1; size < bytes; n++) {
      const part = `${String(n).padStart(6, ' ')}→${pool[at++ % pool.length]}\\n`;
      parts.push(part);
      size += part.length;
    }
    return parts.join('');
  };
  const usage = (out) =>
    `{"input_tokens":${Math.floor(between(2, 9))},"cache_creation_input_tokens":0,"cache_read_input_tokens":${Math.floor(between(8000, 90000))},"output_tokens":${out},"service_tier":"standard"}`;
  const assistant = (content, out) =>
    `{"type":"assistant","message":{"model":"${MODEL}","id":"msg_${uuid().replace(/-/g, '')}","type":"message","role":"assistant","content":[${content}],"stop_reason":null,"stop_sequence":null,"usage":${usage(out)},"context_management":null},"parent_tool_use_id":null,"session_id":"${sid}","uuid":"${uuid()}"}`;
  const toolResult = (id, text) =>
    `{"type":"user","message":{"role":"user","content":[{"tool_use_id":"${id}","type":"tool_result","content":"${text}"}]},"parent_tool_use_id":null,"session_id":"${sid}","uuid":"${uuid()}"}`;
  const prose = (chars) =>
    fileText(chars)
      .replace(/ {2,}\d+→/g, ' ')
      .slice(0, chars)
      .replace(/\\+$/, '');

  const events = [];
  const emit = (at, line) => events.push({ at: Math.round(at), bytes: Buffer.from(`${line}\n`) });
  emit(
    0,
    `{"type":"system","subtype":"init","cwd":"/workspace","session_id":"${sid}","tools":${JSON.stringify(TOOLS)},"mcp_servers":[],"model":"${MODEL}","permissionMode":"bypassPermissions","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.331","output_style":"default","uuid":"${uuid()}"}`,
  );
  let t = between(200, 3000);
  let turns = 0;
  while (t < durationMs - 2500) {
    turns++;
    // Thinking: mostly short, now and then a long quiet stretch.
    t += rnd() < 0.25 ? between(3000, 9000) : between(300, 2000);
    if (t >= durationMs - 2500) break;
    emit(
      t,
      assistant(
        `{"type":"text","text":"${prose(Math.floor(between(80, 600)))}"}`,
        Math.floor(between(20, 300)),
      ),
    );
    const calls = [];
    const n = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < n; i++) {
      const tool = pick(['Read', 'Read', 'Read', 'Read', 'Grep', 'Bash', 'Bash', 'Edit', 'Write']);
      const id = toolId();
      let input;
      if (tool === 'Read') input = `{"file_path":"/workspace/src/module-${Math.floor(rnd() * 400)}.ts"}`;
      else if (tool === 'Grep')
        input = `{"pattern":"export (function|const) step\\\\d+","path":"/workspace/src","output_mode":"content"}`;
      else if (tool === 'Bash')
        input = `{"command":"npm test -- --reporter=dot 2>&1 | tail -n 200","description":"Run the tests"}`;
      else
        input = `{"file_path":"/workspace/src/module-${Math.floor(rnd() * 400)}.ts","${tool === 'Write' ? 'content' : 'new_string'}":"${fileText(Math.floor(between(5_000, 40_000)))}"}`;
      emit(
        t + 5 * i,
        assistant(
          `{"type":"tool_use","id":"${id}","name":"${tool}","input":${input}}`,
          Math.floor(between(30, 900)),
        ),
      );
      calls.push({ tool, id });
    }
    // The tools run, then their results come back together: the burst.
    t += between(150, 1500);
    for (const { tool, id } of calls) {
      const size =
        tool === 'Read'
          ? between(10_000, 100_000)
          : tool === 'Bash'
            ? between(1_000, 30_000)
            : tool === 'Grep'
              ? between(2_000, 20_000)
              : 200;
      emit(
        t,
        toolResult(
          id,
          tool === 'Edit' || tool === 'Write' ? 'The file has been updated.' : fileText(Math.floor(size)),
        ),
      );
      t += between(1, 20);
    }
  }
  const end = Math.max(t, durationMs - 1000);
  emit(
    end - 500,
    assistant(
      `{"type":"text","text":"${prose(Math.floor(between(200, 1200)))}"}`,
      Math.floor(between(100, 600)),
    ),
  );
  emit(
    end,
    `{"type":"result","subtype":"success","is_error":false,"duration_ms":${Math.round(end)},"duration_api_ms":${Math.round(end * 0.7)},"num_turns":${turns * 2 + 1},"result":"Done: ${turns} turns.","session_id":"${sid}","total_cost_usd":${(turns * 0.0123).toFixed(4)},"usage":${usage(500)},"permission_denials":[],"uuid":"${uuid()}"}`,
  );
  events.sort((a, b) => a.at - b.at);
  return { events, totalBytes: events.reduce((n, e) => n + e.bytes.length, 0) };
}

/** The bytes and their sha256, as the job's output file must hold them. */
export function sessionDigest(name, opts = {}) {
  const { events, totalBytes } = sessionPlan(name, opts);
  const hash = createHash('sha256');
  for (const e of events) hash.update(e.bytes);
  return { bytes: totalBytes, sha256: hash.digest('hex') };
}
