#!/bin/sh
echo "10-listen.sh: listening on ${PORT:-8080}"
