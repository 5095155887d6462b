/**
 * Server-side tools run on Anthropic's side, inside `/v1/messages`: web search, web fetch, code
 * execution, the MCP connector. They reach the internet whatever the container's network mode.
 * With `refuseServerTools`, a request that enables one is refused; this says which it enables.
 * Client tools (Claude Code's own: Bash, Read, …) have no `type` or `type: "custom"`; Anthropic's
 * client-run tools (`bash_…`, `text_editor_…`) run in the container and are not refused.
 */
const SERVER_TOOL_TYPES = /^(web_search|web_fetch|code_execution|mcp_toolset)(_|$)/;
const SERVER_BETAS = /^(mcp-client|web-fetch|web-search|code-execution|computer-use)-/i;

export function serverToolsIn(body: Buffer, betaHeader: string | string[] | undefined): string[] {
  const found = new Set<string>();
  const betas = (Array.isArray(betaHeader) ? betaHeader.join(',') : (betaHeader ?? ''))
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const beta of betas) if (SERVER_BETAS.test(beta)) found.add(`anthropic-beta ${beta}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [...found];
  }
  if (typeof parsed !== 'object' || parsed === null) return [...found];
  const request = parsed as { tools?: unknown; mcp_servers?: unknown };
  if (Array.isArray(request.mcp_servers) && request.mcp_servers.length > 0) found.add('mcp_servers');
  if (Array.isArray(request.tools)) {
    for (const tool of request.tools) {
      const type = (tool as { type?: unknown } | null)?.type;
      if (typeof type === 'string' && SERVER_TOOL_TYPES.test(type))
        found.add(`tool type ${type.slice(0, 64)}`);
    }
  }
  return [...found];
}
