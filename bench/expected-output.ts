/**
 * The bytes a job's output file must hold, computed without the supervisor: the load generator's
 * `run` is executed once directly and its stdout hashed (and the unit tests' fixture runtime can
 * be asked the same, to show both print the same bytes). The recording is LF-only with no empty
 * lines, so the output file (each line + '\n') must equal that stdout byte for byte. The rate
 * only changes timing, never bytes, so the reference runs at full speed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { FAKE_RUNTIME, LIGHT_RUNTIME } from './fake-stack.js';

export type Generator = 'light' | 'fixture';

export interface ExpectedOutput {
  bytes: number;
  sha256: string;
}

const cache = new Map<string, Promise<ExpectedOutput>>();

export function expectedOutput(
  stream: string,
  totalBytes: number,
  generator: Generator = 'light',
): Promise<ExpectedOutput> {
  const key = `${generator}\0${stream}\0${totalBytes}`;
  let entry = cache.get(key);
  if (!entry) {
    entry = referenceRun(generator, stream, totalBytes);
    cache.set(key, entry);
  }
  return entry;
}

async function referenceRun(
  generator: Generator,
  stream: string,
  totalBytes: number,
): Promise<ExpectedOutput> {
  const state = await mkdtemp(join(tmpdir(), 'claude-pod-bench-ref-'));
  try {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      FAKE_RUNTIME_STATE: state,
      FAKE_STREAM: stream,
      FAKE_TOTAL_BYTES: String(totalBytes),
    };
    const child = execa(
      generator === 'light' ? LIGHT_RUNTIME : FAKE_RUNTIME,
      ['run', '--rm', '--name', 'reference', 'bench-image', 'claude'],
      {
        env,
        extendEnv: false,
        buffer: false,
        encoding: 'buffer',
        stdin: 'ignore',
      },
    );
    const hash = createHash('sha256');
    let bytes = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    await child;
    return { bytes, sha256: hash.digest('hex') };
  } finally {
    await rm(state, { recursive: true, force: true });
  }
}

export async function hashFile(path: string): Promise<ExpectedOutput> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
