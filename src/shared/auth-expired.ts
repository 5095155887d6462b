/** The hint a job gets when the host's Claude login cannot be refreshed. */
export const LOGIN_AGAIN_HINT =
  'log in again on the host: run `claude` and then `/login` (or `claude setup-token`), then start the job again';

/**
 * Put by the host-side proxy in the 401 it answers when it has no valid credential; Claude Code
 * quotes the message in its error result, where the job's classification (classify-exit.ts) finds
 * it. A job could print it itself: that only mislabels its own failure.
 */
export const AUTH_EXPIRED_MARKER = '[claude-pod AUTH_EXPIRED]';
