#!/bin/sh
# A stand-in "container runtime" for the parse-throughput benchmark: `cat-runtime.sh FILE run …`
# prints FILE as the container's stdout; `inspect` finds no container; every other verb succeeds.
file="$1"
shift
case "$1" in
  run) exec cat "$file" ;;
  container | inspect) echo '[]' ;;
  *) exit 0 ;;
esac
