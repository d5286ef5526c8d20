#!/bin/sh
# The official-image pattern: run every /docker-entrypoint.d/*.sh, then the command.
set -e
for f in /docker-entrypoint.d/*.sh; do
  [ -x "$f" ] && "$f"
done
exec "$@"
