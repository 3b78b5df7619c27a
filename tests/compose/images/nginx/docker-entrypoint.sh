#!/bin/sh
# The official nginx image's entrypoint: before nginx starts, run each script in /docker-entrypoint.d.
set -eu
if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
  for script in /docker-entrypoint.d/*.sh; do
    [ -x "$script" ] && "$script"
  done
fi
exec "$@"
