#!/bin/sh
# scripts/bench-pattern.sh - build and run the pattern benchmark: prints fill and verify
# bandwidth as ratios of memset and a read scan measured in the same run
# usage: scripts/bench-pattern.sh [BUILD-DIR] [MiB] [ROUNDS]
set -eu
build=${1:-build}
make -s -C "$build" tests/bench-pattern
exec "$build/tests/bench-pattern" "${2:-64}" "${3:-7}"
