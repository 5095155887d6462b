#!/bin/sh
# claude-pod container entrypoint (mounted read-only at /opt/claude-pod; --entrypoint
# /opt/claude-pod/entrypoint.sh; the arguments are the command to run, normally `claude …`).
#
# When the host's API proxy is mounted at /run/claude-pod, start the TCP -> unix-socket forwarder
# on the container's loopback, wait until it listens, then exec the command. The forwarder runs in
# a subshell that exits at once, so it is re-parented to init (catatonit, --init) and the command
# is init's only direct child: signals for it (SIGINT on cancel) reach it and nothing else.
set -eu

if [ "$#" -eq 0 ]; then
  echo "claude-pod entrypoint: no command given" >&2
  exit 64
fi

# The home directory is a tmpfs. Podman fills it with what the image has there; Docker's tmpfs starts
# empty, so give the job user the same skeleton (useradd's /etc/skel and the two tool directories).
if [ -n "${HOME:-}" ] && [ -d "$HOME" ] && [ -w "$HOME" ] && [ ! -e "$HOME/.bashrc" ]; then
  cp -Rn /etc/skel/. "$HOME"/ 2>/dev/null || true
  mkdir -p "$HOME/.npm-global" "$HOME/go" 2>/dev/null || true
fi

CLAUDE_POD_API_SOCKET="${CLAUDE_POD_API_SOCKET:-/run/claude-pod/api.sock}"
CLAUDE_POD_API_PORT="${CLAUDE_POD_API_PORT:-8119}"
CLAUDE_POD_FORWARDER_READY="${CLAUDE_POD_FORWARDER_READY:-/tmp/.claude-pod-forwarder.ready}"
export CLAUDE_POD_API_SOCKET CLAUDE_POD_API_PORT CLAUDE_POD_FORWARDER_READY

# A remote engine: the socket is the relay the supervisor starts in this container (relay.mjs);
# its directory is made here, and the forwarder waits for the relay to listen.
if [ -n "${CLAUDE_POD_API_RELAY:-}" ]; then
  mkdir -p "$(dirname "$CLAUDE_POD_API_SOCKET")"
fi

# The socket itself, or its mounted directory (a proxy being restarted has no socket for a moment).
if [ -S "$CLAUDE_POD_API_SOCKET" ] || [ -d "$(dirname "$CLAUDE_POD_API_SOCKET")" ]; then
  if ! command -v node >/dev/null 2>&1; then
    echo "claude-pod entrypoint: node not found; cannot start the API forwarder" >&2
    exit 127
  fi
  rm -f "$CLAUDE_POD_FORWARDER_READY"
  ( node /opt/claude-pod/forwarder.mjs </dev/null >/dev/null & )
  # Wait up to ~10 s (200 x 50 ms) for the forwarder to listen.
  i=0
  while [ ! -s "$CLAUDE_POD_FORWARDER_READY" ]; do
    i=$((i + 1))
    if [ "$i" -gt 200 ]; then
      echo "claude-pod entrypoint: API forwarder did not start on 127.0.0.1:$CLAUDE_POD_API_PORT" >&2
      exit 70
    fi
    sleep 0.05
  done
fi

exec "$@"
