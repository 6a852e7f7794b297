#!/bin/bash
# scripts/bench-stat.sh - how long `fdx stat -J` takes against `lsfd -J` over the same
# processes in the same run: 200 processes holding 50 memfds each (3 of them mapped)
#
#   scripts/bench-stat.sh [BUILD_DIR [REPETITIONS]]
#
# Both commands look at the whole machine, as they do by default, while the processes are
# alive; they run in turns, so that noise hits both alike. Prints the median of each and
# lsfd's median over fdx's (above 1: fdx is faster). Whatever it started is killed on the
# way out, Ctrl-C included.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
reps=${2:-9}
nproc=200
nfds=50
fdx=$build/fdx
mkfds=$build/tests/mkfds

[ -x "$fdx" ] || { echo "bench-stat: no $fdx: build first" >&2; exit 2; }
[ -x "$mkfds" ] || make -s -C "$build" tests/mkfds
command -v lsfd >/dev/null || { echo "bench-stat: lsfd (util-linux) is not installed" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench-stat: jq is not installed" >&2; exit 2; }

tmp=$(mktemp -d)
fixture=
cleanup() {
	# the fixture kills and reaps its children on SIGTERM (they also die with it)
	if [ -n "$fixture" ]; then
		kill "$fixture" 2>/dev/null || true
		wait "$fixture" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$mkfds" bench "$nproc" "$nfds" >"$tmp/mkfds.json" &
fixture=$!
# a whole line (jq 1.6 -e passes an empty file)
ready() { [ -s "$1" ] && [ -z "$(tail -c 1 "$1")" ] && jq -e .pid "$1" >/dev/null 2>&1; }
for _ in $(seq 1 600); do
	ready "$tmp/mkfds.json" && break
	kill -0 "$fixture" 2>/dev/null || { echo "bench-stat: mkfds failed" >&2; exit 1; }
	sleep 0.05
done
ready "$tmp/mkfds.json" || { echo "bench-stat: mkfds did not start" >&2; exit 1; }

# first, that both see what is there
"$fdx" stat -J -t memfd -o NAME,HOLDERS >"$tmp/fdx.json" 2>/dev/null
seen=$(jq '[.buffers[] | select(.name | startswith("mkfds-bench-"))] | length' "$tmp/fdx.json")
lsfd -J >"$tmp/lsfd.json"
# lsfd's default columns give the fd number as ASSOC (mappings are "mem", "shm", ...)
lsfd_seen=$(jq '[.lsfd[] | select((.assoc | test("^[0-9]+$"))
	and (.name | startswith("/memfd:mkfds-bench-")))] | length' "$tmp/lsfd.json")
want=$((nproc * nfds))
[ "$seen" -eq "$want" ] || { echo "bench-stat: fdx stat found $seen of $want memfds" >&2; exit 1; }
[ "$lsfd_seen" -eq "$want" ] || { echo "bench-stat: lsfd found $lsfd_seen of $want" >&2; exit 1; }

# time_ms CMD...: wall-clock milliseconds of one run, output thrown away
time_ms() {
	local t0=$EPOCHREALTIME t1
	"$@" >/dev/null 2>&1
	t1=$EPOCHREALTIME
	echo "$t0 $t1" | awk '{ printf "%.2f\n", ($2 - $1) * 1000 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

procs=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
echo "bench-stat: $nproc processes x $nfds memfds ($want memfds), $procs processes in all;" \
	"$reps runs each"
time_ms "$fdx" stat -J >/dev/null # warm the caches for both
time_ms lsfd -J >/dev/null
: >"$tmp/fdx.ms"
: >"$tmp/lsfd.ms"
for _ in $(seq 1 "$reps"); do
	time_ms "$fdx" stat -J >>"$tmp/fdx.ms"
	time_ms lsfd -J >>"$tmp/lsfd.ms"
done
f=$(median <"$tmp/fdx.ms")
l=$(median <"$tmp/lsfd.ms")
echo "fdx stat -J: $(tr '\n' ' ' <"$tmp/fdx.ms")ms"
echo "lsfd -J:     $(tr '\n' ' ' <"$tmp/lsfd.ms")ms"
awk -v f="$f" -v l="$l" 'BEGIN {
	verdict = (l > f) ? "met, fdx is faster" : "NOT met"
	printf "bench-stat: fdx stat -J median %.1f ms, lsfd -J median %.1f ms: lsfd/fdx = %.2f (target > 1: %s)\n",
		f, l, l / f, verdict
}'
