#!/bin/sh
# The benchmark's load generator: a stand-in for `podman` that the supervisor drives through the
# same code path as the real one (its RuntimeInfo.command points here). It answers only what a
# job needs, as cheaply as possible so that 64 jobs fit on 2 cores:
#   run …          streams the recorded stream-json to stdout (node, stream.mjs; FAKE_STREAM,
#                  FAKE_TOTAL_BYTES, FAKE_RATE_BYTES_PER_SEC from the environment)
#   image inspect  the image exists
#   stats          a fixed sample
#   inspect        no such container (the job's exit status is the client's)
#   rm, kill       nothing to do
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
case "$verb" in
  run) exec node "$(dirname "$0")/stream.mjs" "$@" ;;
  image) echo "sha256:0000000000000000000000000000000000000000000000000000000000000000" ;;
  stats)
    echo '[{"id":"000000000000","name":"bench","cpu_percent":"3.50%","mem_usage":"150MB / 536.9MB","mem_percent":"27.94%","pids":"3"}]'
    ;;
  inspect | container)
    echo "Error: no such container" >&2
    exit 125
    ;;
  rm | kill) exit 0 ;;
  version | --version) echo "podman version 5.4.0-bench" ;;
  *)
    echo "Error: unsupported verb $verb" >&2
    exit 125
    ;;
esac
