/**
 * What a person at the terminal should do about an error code — the CLI's counterpart of the
 * tools' hints (which speak to an agent). Pure.
 */
import type { ErrorCode } from '../../shared/errors.js';
import { imageFix } from '../../tools/image-hint.js';

export function cliHint(code: ErrorCode | string | null, details?: { image?: unknown }): string | null {
  switch (code) {
    case 'IMAGE_NOT_FOUND':
      return typeof details?.image === 'string'
        ? imageFix(details.image, 'cli')
        : 'run `claude-pod setup` to build the agent image';
    case 'RUNTIME_MISSING':
      return 'run `claude-pod setup` (installs podman on Debian/Ubuntu), then `claude-pod doctor`';
    case 'RUNTIME_FAILED':
      return 'run `claude-pod doctor` to see what the container runtime is missing';
    case 'NO_AUTH':
      return 'set ANTHROPIC_API_KEY or log in with Claude Code (~/.claude/.credentials.json); to try without credentials: `claude-pod demo`';
    case 'STARTUP_TIMEOUT':
      return 'the container produced no output in time: check `claude-pod doctor`, or raise startupTimeout in the config';
    case 'IDLE_TIMEOUT':
      return 'Claude Code went quiet: read the output with `claude-pod logs JOB`, or raise idleTimeout in the config';
    case 'OOM_KILLED':
      return 'the job ran out of memory: raise `memory` in the config (e.g. "2g")';
    case 'RESULT_ERROR':
      return 'Claude Code reported an error (often the model API): see the end of `claude-pod logs JOB`';
    case 'NO_RESULT':
    case 'EXIT_NONZERO':
      return 'Claude Code did not finish normally: see `claude-pod logs JOB`';
    case 'SESSION_BUSY':
      return 'wait for the running job (`claude-pod logs -f JOB`) or cancel it (`claude-pod cancel JOB`)';
    case 'JOB_NOT_FOUND':
      return '`claude-pod status` lists the jobs that exist';
    case 'SESSION_NOT_FOUND':
      return '`claude-pod sessions` lists the sessions that exist';
    case 'QUEUE_FULL':
      return 'too many jobs are waiting: let some finish first';
    case 'CONTAINER_LOST':
      return 'the container disappeared while nothing supervised it; start the job again';
    case 'INVALID_CONFIG':
      return 'fix the key named above in the --config file (`claude-pod doctor --config FILE` checks it)';
    default:
      return null;
  }
}
