#!/bin/sh
# scripts/bench.sh - fdx's performance targets as ratios against baselines measured in the
# same run (never compare absolute times across runs: these machines are noisy)
#   (a) stream handoff round trip (READY + RELEASE) vs a bare SEQPACKET ping-pong that
#       carries one fd, both pinned to one core: targets p50 <= 1.25x, p99 <= 1.5x
#   (b) pattern verify vs a read scan, fill vs memset, on 64 MiB: targets >= 0.7x
#   (c) 8 MiB frames streamed with fill + verify, zero-copy vs serve --copy: target >= 4x
# usage: scripts/bench.sh [BUILD-DIR] [ROUNDS]
set -eu
build=${1:-build}
rounds=${2:-20000}
command -v jq >/dev/null || { echo "bench: needs jq (scripts/setup installs it)" >&2; exit 2; }
make -s -C "$build" fdx tests/bench-handoff tests/bench-pattern
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== (a) handoff round trip, both sides on CPU 0, $rounds rounds"
set -- $(taskset -c 0 "$build/tests/bench-handoff" "$rounds")
base50=$1 base99=$2
# a ring of one buffer makes the stream a strict ping-pong, like the baseline
taskset -c 0 "$build/fdx" serve -s "$tmp/b.sock" -q --json --count 1 --size 4096 \
	--no-fill --frames "$rounds" >"$tmp/serve.json" &
serve=$!
taskset -c 0 "$build/fdx" connect -s "$tmp/b.sock" -q
wait "$serve"
fdx50=$(jq '.clients[0].stream.handoff_ns.p50' "$tmp/serve.json")
fdx99=$(jq '.clients[0].stream.handoff_ns.p99' "$tmp/serve.json")
awk -v b50="$base50" -v b99="$base99" -v f50="$fdx50" -v f99="$fdx99" 'BEGIN {
	r50 = f50 / b50; r99 = f99 / b99
	printf "  bare ping-pong + 1 fd: p50 %.1f us, p99 %.1f us\n", b50 / 1e3, b99 / 1e3
	printf "  fdx READY/RELEASE:     p50 %.1f us, p99 %.1f us\n", f50 / 1e3, f99 / 1e3
	printf "  p50 ratio %.2f (target <= 1.25) %s\n", r50, r50 <= 1.25 ? "met" : "NOT MET"
	printf "  p99 ratio %.2f (target <= 1.50) %s\n", r99, r99 <= 1.50 ? "met" : "NOT MET"
}'

echo "== (b) pattern fill and verify, 64 MiB"
"$build/tests/bench-pattern" 64 7 | sed 's/^/  /'

echo "== (c) 8 MiB frames with fill and verify: zero-copy vs copying through the socket"
# fps FLAGS...: frames per second of a 300-frame verified stream of 8 MiB frames
fps() {
	"$build/fdx" serve -s "$tmp/c.sock" -q --json --size 8M --frames 300 "$@" \
		>"$tmp/c.json" &
	p=$!
	"$build/fdx" connect -s "$tmp/c.sock" -q --verify
	wait "$p"
	jq '.clients[0].stream.fps' "$tmp/c.json"
}
zero=$(fps)
copy=$(fps --copy)
awk -v z="$zero" -v c="$copy" 'BEGIN {
	printf "  zero-copy %.0f fps, --copy %.0f fps\n", z, c
	printf "  ratio %.1f (target >= 4) %s\n", z / c, (z / c >= 4) ? "met" : "NOT MET"
}'
