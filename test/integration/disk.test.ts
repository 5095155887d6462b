import { lstat, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDirective } from '../../src/mock-api/index.js';
import { processDiskSupport } from '../../src/disk/disk-support.js';
import { containerNameFor } from '../../src/runtime/labels.js';
import { ErrorCodes } from '../../src/shared/errors.js';
import { parseSize } from '../../src/shared/sizes.js';
import { containerLogCap } from '../../src/supervisor/job-spec.js';
import { sessionDisks } from '../../src/supervisor/session-files.js';
import { statePaths } from '../../src/supervisor/state-paths.js';
import { loopDevicesUnder, mountsUnder } from '../fixtures/disks.js';
import { requireRuntime, skipNote } from './helpers/runtime.js';
import { startStack, type Stack } from './helpers/stack.js';

const env = await requireRuntime();
const support = await processDiskSupport();
const MiB = 1024 * 1024;
const WORKSPACE = '64m';
const STATE = '32m';
const MAX_OUTPUT = 1 * MiB;

/** Free bytes of the host filesystem holding `path`. */
async function hostFree(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

/**
 * The attacker, run by the real CLI's Bash tool: 100 MB into the container's own stdout (the
 * runtime's log), then 4 GiB into the workspace, 1 GiB into ~/.claude, /var/tmp and the home
 * directory, and the image's own filesystem; then it waits to be stopped.
 */
const ATTACK = [
  'yes "$(head -c 2000 /dev/zero | tr "\\0" x)" | head -c 100000000 > /proc/1/fd/1',
  'dd if=/dev/zero of=/workspace/fill bs=1M count=4096',
  'dd if=/dev/zero of=$HOME/.claude/fill bs=1M count=1024',
  'dd if=/dev/zero of=/var/tmp/fill bs=1M count=1024',
  'dd if=/dev/zero of=$HOME/fill bs=1M count=1024',
  'dd if=/dev/zero of=/usr/fill bs=1M count=1024',
  'sleep 150',
].join('; ');

describe.skipIf(!env.available || !support.enforced)(
  `disk limits (real runtime, image and CLI; mock API)${skipNote(env)}${support.enforced ? '' : ` [skipped: ${support.why}]`}`,
  () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({
        maxWorkspaceSize: WORKSPACE,
        maxStateSize: STATE,
        maxOutputSize: MAX_OUTPUT,
        metricsIntervalSeconds: 1,
        // A job the disk layer failed to stop ends here instead (the attacker sleeps silently).
        idleTimeout: 30,
      });
    });
    afterAll(async () => {
      await stack?.dispose();
    });

    it('a job writing past its quota fails with DISK_QUOTA; the host disk and the container log stay bounded', async () => {
      const sup = stack.supervisor;
      const freeBefore = await hostFree(stack.dir);
      const { jobId, sessionId } = await sup.start({
        prompt: `fill the disk ${formatDirective('bash', { command: ATTACK })}`,
      });
      // The runtime's log of the container, sampled while it runs (it goes with the container).
      let logPath = '';
      let logMax = 0;
      let freeMin = freeBefore;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          if (!logPath) {
            const r = await execa(
              env.available ? env.spec.command : 'podman',
              ['container', 'inspect', '--format', '{{.HostConfig.LogConfig.Path}}', containerNameFor(jobId)],
              { reject: false, stdin: 'ignore' },
            );
            if (r.exitCode === 0) logPath = String(r.stdout).trim();
          }
          if (logPath)
            logMax = Math.max(
              logMax,
              await stat(logPath).then(
                (s) => s.size,
                () => 0,
              ),
            );
          freeMin = Math.min(freeMin, await hostFree(stack.dir));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const final = await stack.waitForEnd(jobId);
      sampling = false;
      await sampler;

      expect(final.status).toBe('failed');
      expect(final.errorCode, final.error ?? '').toBe(ErrorCodes.DISK_QUOTA);
      const paths = statePaths(stack.config.sessionsDir!, stack.config.workspacesDir!);
      // Stopped by the runner when it saw the disk full, not by the idle timer long after.
      expect(final.error).toMatch(/^disk_quota - .* is full .*; the job was stopped$/);
      expect(final.elapsedSeconds).toBeLessThan(25);
      expect(
        [paths.workspace(sessionId), paths.claudeDir(sessionId)].some((p) => final.error?.includes(p)),
      ).toBe(true);
      // The host lost at most the two images' worth (64 + 32 MiB) plus the capped log and output,
      // while the attacker wrote over 7 GiB; other work on this host moves free space too.
      const used = freeBefore - freeMin;
      expect(used).toBeLessThan(512 * MiB);
      const disks = sessionDisks(paths, sessionId);
      expect((await lstat(disks.workspace.image)).blocks * 512).toBeLessThanOrEqual(parseSize(WORKSPACE));
      expect((await lstat(disks.claude.image)).blocks * 512).toBeLessThanOrEqual(parseSize(STATE));
      // 100 MB went to the container's stdout: its log never passed its cap (conmon starts it afresh).
      expect(logPath).not.toBe('');
      expect(logMax).toBeGreaterThan(1 * MiB);
      expect(logMax).toBeLessThanOrEqual(containerLogCap(MAX_OUTPUT));
      const output = await readFile(paths.outputFile(sessionId, jobId));
      expect(output.length).toBeLessThanOrEqual(MAX_OUTPUT + 200);
      expect(await stack.containersLeft()).toEqual([]);

      // cleanup() releases what the session held: no mount, no loop device, no files.
      const mountsBefore = await mountsUnder(stack.dir);
      expect(mountsBefore).toHaveLength(2);
      const { removedSessions } = await sup.cleanup({ olderThanSeconds: 0 });
      expect(removedSessions).toContain(sessionId);
      expect(await mountsUnder(stack.dir)).toEqual([]);
      expect(await loopDevicesUnder(stack.dir)).toEqual([]);
      await expect(stat(paths.workspace(sessionId))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(stat(paths.sessionDir(sessionId))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('a session keeps its disks across a supervisor restart and a host reboot (unmounted), files intact', async () => {
      const sup = stack.supervisor;
      const first = await sup.start({
        prompt: `write ${formatDirective('bash', { command: 'echo kept > /workspace/kept.txt && echo state > $HOME/.claude/kept.txt && sleep 4' })}`,
      });
      const { sessionId } = first;
      await new Promise<void>((resolve) => {
        const on = () => {
          if (sup.status(first.jobId).status !== 'running') return;
          sup.off('job:running', on);
          resolve();
        };
        sup.on('job:running', on);
        on();
      });
      const paths = statePaths(stack.config.sessionsDir!, stack.config.workspacesDir!);
      const mounted = await mountsUnder(stack.dir);
      // A supervisor that goes away leaves the container and the mounts as they are; the next
      // one re-attaches and finds them mounted.
      const next = await stack.restart();
      expect(await mountsUnder(stack.dir)).toEqual(mounted);
      const done = await stack.waitForEnd(first.jobId, next);
      expect(done.status, done.error ?? '').toBe('completed');
      expect(await readFile(join(paths.workspace(sessionId), 'kept.txt'), 'utf8')).toBe('kept\n');

      // A reboot unmounts everything; the session's next job mounts its images again.
      await next.close();
      for (const m of mounted) await execa('umount', [m]);
      expect(await mountsUnder(stack.dir)).toEqual([]);
      const after = await stack.restart();
      const again = await after.start({
        sessionId,
        prompt: `read ${formatDirective('bash', { command: 'cat /workspace/kept.txt $HOME/.claude/kept.txt' })}`,
      });
      const final = await stack.waitForEnd(again.jobId, after);
      expect(final.status, final.error ?? '').toBe('completed');
      expect((await after.output(again.jobId, { limit: MiB })).content).toContain('kept\\nstate');
      expect((await mountsUnder(stack.dir)).sort()).toEqual([...mounted].sort());
    });
  },
);
