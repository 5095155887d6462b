#!/bin/sh
# The benchmark's load generator: a stand-in for `podman` that the supervisor drives through the
# same code path as the real one (its RuntimeInfo.command points here). It answers only what a
# job needs, as cheaply as possible so that 64 jobs fit on 2 cores:
#   run …          streams the recorded stream-json to stdout (node, stream.mjs; FAKE_STREAM,
#                  FAKE_TOTAL_BYTES, FAKE_RATE_BYTES_PER_SEC from the environment); with
#                  FAKE_SESSION_MS set, a synthetic Claude session instead, written into a FIFO by
#                  session-server.mjs and copied out by `cat`
#   image inspect  the image exists
#   stats          a fixed sample
#   inspect        while the job's stream runs: its id and pid, like a running container; after
#                  it: no such container (the job's exit status is the client's)
#   rm, kill       removes the job's cgroups
#   ps, info       no containers; a rootful podman on runc (for a supervisor that detects its
#                  runtime itself, as the plugin in a real gateway does)
# With FAKE_STATE_DIR set, `run` also does what a container runtime does for metrics: as root on
# cgroups v1 it puts the stream's process into cgroups of its own, named libpod-<id> (memory,
# cpuacct, pids), so the worker reads its metrics from the cgroup files exactly as for a real
# container. Without root or on cgroups v2 the worker falls back to `stats`, as it would with a
# real runtime there.
# Everything but `run` is plain sh: no interpreter start-up per metrics sample or removal.
while [ "$#" -gt 0 ]; do
  case "$1" in
    --runtime|--log-level|--root|--runroot|--cgroup-manager|--url) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
verb="${1:-}"
[ "$#" -gt 0 ] && shift
last=""
for a in "$@"; do last="$a"; done
fake_id() { printf %s "$1" | sha256sum | cut -c1-64; }
CGROUP_PARENT=claude-pod-bench
case "$verb" in
  run)
    if [ -n "${FAKE_STATE_DIR:-}" ]; then
      name=""
      prev=""
      for a in "$@"; do
        [ "$prev" = "--name" ] && name="$a"
        prev="$a"
      done
      if [ -n "$name" ]; then
        # Into its cgroups first, then "running" (the pid file `inspect` reads): a metrics sample
        # in between would find the process outside its container's cgroup, as podman never shows.
        if [ -w /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/cpuacct ]; then
          id=$(fake_id "$name")
          for c in memory cpuacct pids; do
            d="/sys/fs/cgroup/$c/$CGROUP_PARENT/libpod-$id"
            mkdir -p "$d" && echo $$ >"$d/cgroup.procs"
          done
        fi
        echo $$ >"$FAKE_STATE_DIR/$name.pid"
      fi
    fi
    # A synthetic Claude session played by session-server.mjs through a FIFO (one server for
    # every job; each job's process is a `cat`), or the recording streamed by a node process.
    if [ -n "${FAKE_SESSION_MS:-}" ] && [ -n "$name" ]; then
      fifo="$FAKE_STATE_DIR/$name.fifo"
      mkfifo "$fifo" && exec cat "$fifo"
    fi
    exec node "$(dirname "$0")/stream.mjs" "$@"
    ;;
  image) echo "sha256:0000000000000000000000000000000000000000000000000000000000000000" ;;
  stats)
    echo '[{"id":"000000000000","name":"bench","cpu_percent":"3.50%","mem_usage":"150MB / 536.9MB","mem_percent":"27.94%","pids":"3"}]'
    ;;
  inspect | container)
    pidf="${FAKE_STATE_DIR:-/nonexistent}/$last.pid"
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
      printf '[{"Id":"%s","State":{"Status":"running","Running":true,"Pid":%s}}]\n' "$(fake_id "$last")" "$(cat "$pidf")"
      exit 0
    fi
    echo "Error: no such container" >&2
    exit 125
    ;;
  rm)
    if [ -n "${FAKE_STATE_DIR:-}" ]; then
      id=$(fake_id "$last")
      rm -f "$FAKE_STATE_DIR/$last.pid" "$FAKE_STATE_DIR/$last.fifo"
      for c in memory cpuacct pids; do rmdir "/sys/fs/cgroup/$c/$CGROUP_PARENT/libpod-$id" 2>/dev/null; done
    fi
    exit 0
    ;;
  kill) exit 0 ;;
  ps) echo "[]" ;;
  info)
    printf '{"host":{"cgroupVersion":"v1","logDriver":"k8s-file","kernel":"%s","ociRuntime":{"name":"runc"},"security":{"rootless":false}},"version":{"Version":"5.4.0-bench"}}\n' "$(uname -r)"
    ;;
  version | --version) echo "podman version 5.4.0-bench" ;;
  *)
    echo "Error: unsupported verb $verb" >&2
    exit 125
    ;;
esac
