/** The six tools of the seed plugin, in its order. */
import { cancelTool } from './cancel.js';
import { cleanupTool } from './cleanup.js';
import type { ToolSpec } from './define.js';
import { outputTool } from './output.js';
import { sessionsTool } from './sessions.js';
import { startTool } from './start.js';
import { statusTool } from './status.js';

export const claudeCodeTools: readonly ToolSpec[] = [
  startTool,
  statusTool,
  outputTool,
  cancelTool,
  cleanupTool,
  sessionsTool,
];

export const toolNames: readonly string[] = claudeCodeTools.map((t) => t.name);

export {
  toAgentTool,
  runTool,
  parseArgs,
  type AgentToolLike,
  type ToolSpec,
  type ToolSupervisor,
} from './define.js';
export { errorResult, okResult, type ToolResult } from './result.js';
