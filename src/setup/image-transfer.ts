import { spawn } from 'node:child_process';
import { ClaudePodError, ErrorCodes } from '../shared/errors.js';
import { tail } from './exec-checked.js';
import { imageContextHash, type ClientCommand } from './image-label.js';

export type TransferResult =
  { copied: false; hash: string } | { copied: true; hash: string; seconds: number };

/**
 * Copies `image` from one engine's store into another's (`save | load`, streamed: no tarball on
 * disk), unless the target already has it built from the same context (its context-hash label
 * matches): images are built once, with podman, and copied into Docker Engine or a rootless
 * user's store. A warm run costs two `image inspect` calls.
 */
export async function copyImage(
  from: ClientCommand,
  to: ClientCommand,
  image: string,
): Promise<TransferResult> {
  const source = await imageContextHash(from, image);
  if (!source) {
    throw new ClaudePodError(
      ErrorCodes.IMAGE_NOT_FOUND,
      `Container image not found: ${image} (nothing to copy)`,
      {
        details: { image },
      },
    );
  }
  const present = await imageContextHash(to, image);
  if (present && source.hash && present.hash === source.hash) return { copied: false, hash: source.hash };
  const t0 = performance.now();
  await pipe(from, ['save', image], to, ['load']);
  const loaded = await imageContextHash(to, image);
  if (!loaded || loaded.hash !== source.hash) {
    throw new ClaudePodError(
      ErrorCodes.SETUP_FAILED,
      `Copied ${image}, but the target does not show it with context hash ${source.hash.slice(0, 12)}`,
    );
  }
  return { copied: true, hash: source.hash, seconds: (performance.now() - t0) / 1000 };
}

/** `a … | b …` without a shell: both must exit 0. */
function pipe(a: ClientCommand, aArgs: string[], b: ClientCommand, bArgs: string[]): Promise<void> {
  const start = (c: ClientCommand, args: string[], stdin: 'ignore' | 'pipe') =>
    spawn(c.command, [...c.args, ...args], {
      stdio: [stdin, 'pipe', 'pipe'],
      ...(c.env ? { env: c.env } : {}),
    });
  const producer = start(a, aArgs, 'ignore');
  const consumer = start(b, bArgs, 'pipe');
  if (!producer.stdout || !consumer.stdin) throw new Error('this should not happen: a client without pipes');
  producer.stdout.pipe(consumer.stdin);
  const ended = (child: ReturnType<typeof start>, what: string) =>
    new Promise<{ what: string; code: number | null; stderr: string }>((resolve) => {
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8192)));
      child.on('error', (error) => resolve({ what, code: null, stderr: error.message }));
      child.on('close', (code) => resolve({ what, code, stderr }));
    });
  return Promise.all([
    ended(producer, `${a.command} ${aArgs.join(' ')}`),
    ended(consumer, `${b.command} ${bArgs.join(' ')}`),
  ]).then((results) => {
    const failed = results.find((r) => r.code !== 0);
    if (failed) {
      throw new ClaudePodError(
        ErrorCodes.SETUP_FAILED,
        `\`${failed.what}\` failed (exit ${failed.code ?? 'none'}): ${tail(failed.stderr, 5)}`,
      );
    }
  });
}
