import { execa } from 'execa';
import { CONTEXT_HASH_LABEL } from './context-hash.js';

/** How to run one container client: a command and the arguments before its verb. */
export interface ClientCommand {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/**
 * An image's id and the context hash it was built from (`io.claude-pod.context-hash`; empty
 * when it has none), or null when the client says it has no such image. `.Config.Labels` is
 * where podman and docker both keep an image's labels.
 */
export async function imageContextHash(
  client: ClientCommand,
  image: string,
): Promise<{ id: string; hash: string } | null> {
  const r = await execa(
    client.command,
    [
      ...client.args,
      'image',
      'inspect',
      '--format',
      `{{.Id}} {{index .Config.Labels "${CONTEXT_HASH_LABEL}"}}`,
      image,
    ],
    { reject: false, stdin: 'ignore', ...(client.env ? { env: client.env } : {}) },
  );
  if (r.exitCode !== 0) return null;
  const [id = '', hash = ''] = String(r.stdout).trim().split(/\s+/);
  return { id: id.replace(/^sha256:/, ''), hash: hash.startsWith('<no') ? '' : hash };
}
