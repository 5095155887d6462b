/**
 * One line per tool call: the tool's name and the argument a person would want to see — the
 * file for Read/Write/Edit, the command for Bash, the pattern for Grep/Glob, the URL for
 * WebFetch. Paths inside the container's /workspace are shown relative to it.
 */
import { sanitizeLine } from './sanitize.js';

const WORKSPACE = '/workspace/';

/** Which input field carries each known tool's key argument, in order of preference. */
const KEY_FIELDS: Record<string, readonly string[]> = {
  Read: ['file_path'],
  Write: ['file_path'],
  Edit: ['file_path'],
  MultiEdit: ['file_path'],
  NotebookEdit: ['notebook_path'],
  NotebookRead: ['notebook_path'],
  Bash: ['command'],
  BashOutput: ['bash_id', 'shell_id'],
  KillShell: ['shell_id'],
  Grep: ['pattern'],
  Glob: ['pattern'],
  LS: ['path'],
  WebFetch: ['url'],
  WebSearch: ['query'],
  Task: ['description', 'subagent_type'],
  Skill: ['skill', 'command'],
  SlashCommand: ['command'],
};

const PATH_FIELDS = new Set(['file_path', 'notebook_path', 'path']);

export function relativeToWorkspace(path: string): string {
  if (path === WORKSPACE.slice(0, -1)) return '.';
  return path.startsWith(WORKSPACE) ? path.slice(WORKSPACE.length) : path;
}

/** The key argument of a tool call as one safe line (not truncated; the renderer fits it). */
export function toolCallDetail(name: string, input: unknown): string {
  const fields = input && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  if (name === 'TodoWrite' && Array.isArray(fields.todos)) {
    const todos = fields.todos as Array<{ status?: unknown }>;
    const done = todos.filter((t) => t?.status === 'completed').length;
    return `${todos.length} todo${todos.length === 1 ? '' : 's'}, ${done} done`;
  }
  const keys = KEY_FIELDS[name] ?? Object.keys(fields);
  for (const key of keys) {
    const value = fields[key];
    if (typeof value !== 'string' || value.length === 0) continue;
    const shown = PATH_FIELDS.has(key) ? relativeToWorkspace(value) : value;
    const extra =
      name === 'Grep' && typeof fields.path === 'string' ? ` in ${relativeToWorkspace(fields.path)}` : '';
    return sanitizeLine(shown + extra);
  }
  return '';
}
