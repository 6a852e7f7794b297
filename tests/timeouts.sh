#!/bin/bash
# tests/timeouts.sh - no wait on a peer is without end (--timeout): a silent server or
# client, a consumer that never releases (one at a time and among others), and either
# side killed mid-stream: exit 5 or 3 within the bound, the other side told, nothing left
# behind -- fds (the checker) nor shared memory (Shmem in /proc/meminfo)
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${RAW_PEER:?RAW_PEER must point at tests/raw-peer}"
sock=$T/t.sock

# mark NAME, then within NAME SECONDS: no more than SECONDS went by since the mark
mark() { date +%s.%N >"$T/mark.$1"; }
within() {
	local took
	took=$(awk -v t0="$(cat "$T/mark.$1")" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f", t1 - t0 }')
	awk -v a="$took" -v b="$2" 'BEGIN { exit !(a < b) }' || fail "$1 took $took s, more than $2"
}

if seqpacket_only "raw SEQPACKET peers that say nothing"; then
	# 1. a server that accepts and never greets: connect gives up after --timeout
	rm -f "$sock"
	"$RAW_PEER" "$sock" silent >"$T/peer.out" 2>"$T/peer.err" &
	peer=$!
	mark c
	run silent_srv 5 connect -s "$sock" --timeout 1
	within c 4
	wait "$peer"
	has silent_srv err "^fdx connect: the peer sent nothing for 1 s while HELLO was expected$"
	pass "a silent server: connect exits 5 after 1 s"

	# 2. a client that connects and never says HELLO: serve gives up on it
	bg serve serve -s "$sock" --timeout 1 --count 1 --size 4K
	wait_for_socket "$sock"
	mark s
	"$RAW_PEER" --consumer "$sock" silent >"$T/peer.out" 2>"$T/peer.err" ||
		fail "raw-peer: $(cat "$T/peer.err")"
	reap serve "$BG" 5
	within s 4
	has serve err "^fdx serve: client 1: the peer sent nothing for 1 s while HELLO was expected$"
	grep -q '^ERROR 5: the peer sent nothing for 1 s' "$T/peer.out" ||
		fail "the silent client was not told: $(cat "$T/peer.out")"
	pass "a silent client: serve tells it, exits 5 after 1 s"
fi

# 3. a consumer that keeps every frame: the producer stops waiting and says why
bg serve serve -s "$sock" --timeout 1 --frames 100 --count 4 --size 4K
wait_for_socket "$sock"
mark n
run hog 3 connect -s "$sock" --inject never-release --timeout 5
reap serve "$BG" 5
within n 5
has serve err "^fdx serve: client 1: no RELEASE for 1 s: the consumer holds 4 buffers$"
has hog err "^fdx connect: peer reported an error: no RELEASE for 1 s: the consumer holds 4 buffers$"
pass "a consumer that never releases: serve gives up after 1 s (exit 5), the consumer told"

# 4. the same among others (--concurrent): it is cut off, they finish
bg serve serve -s "$sock" --clients 3 --concurrent --timeout 1 --duration 2 --count 8 \
	--size 4K --json
wait_for_socket "$sock"
(LD_PRELOAD=$FDCHECK exec "$FDX" connect -s "$sock" --verify -q) >"$T/a.out" 2>"$T/a.err" &
a=$!
(LD_PRELOAD=$FDCHECK exec "$FDX" connect -s "$sock" --verify -q) >"$T/b.out" 2>"$T/b.err" &
b=$!
run hog 3 connect -s "$sock" --inject never-release
wait "$a" || fail "a consumer beside the hog failed: $(cat "$T/a.err")"
wait "$b" || fail "a consumer beside the hog failed: $(cat "$T/b.err")"
reap serve "$BG" 5
jq -e '([.clients[] | select(.exit == 0 and .stream.ok > 0)] | length) == 2
	and ([.clients[] | select(.exit == 5)] | length) == 1' "$T/serve.out" >/dev/null ||
	fail "hog among others: $(jq -c '[.clients[] | {exit, error}]' "$T/serve.out")"
has serve err "client sent nothing for 1 s while it held frames \\(it holds [0-9]+ buffers?\\)$"
pass "a consumer that never releases among others: cut off after 1 s, the others finish"

# 5. either side killed mid-stream: the survivor exits 3 within the timeout, and the
# shared memory of the stream is all given back: its 64 MiB leave Shmem (measured against
# the total during the stream, since tests that run beside this one use shared memory too)
shmem() { awk '/^Shmem:/ { print $2 }' /proc/meminfo; }
for victim in connect serve; do
	base=$(shmem)
	bg serve serve -s "$sock" --frames 100000000 --count 4 --size 16M --timeout 2
	serve=$BG
	(LD_PRELOAD=$FDCHECK exec "$FDX" connect -s "$sock" --timeout 2 -q) \
		>"$T/conn.out" 2>"$T/conn.err" &
	conn=$!
	for _ in $(seq 1 100); do
		[ "$(find "/proc/$conn/fd" -lname '/memfd:fdx:*' 2>/dev/null | wc -l)" -eq 4 ] && break
		sleep 0.05
	done
	during=$(shmem)
	mark k
	if [ $victim = connect ]; then
		kill -KILL "$conn"
		wait "$conn" 2>/dev/null
		reap serve "$serve" 3
	else
		kill -KILL "$serve"
		wait "$serve" 2>/dev/null
		reap conn "$conn" 3
	fi
	within k 3
	after=$(shmem)
	[ "$after" -le $((during - 60000)) ] ||
		fail "$victim killed: Shmem $base kB before, $during during, $after after: not given back"
	pass "$victim killed mid-stream: the other exits 3 at once; Shmem back to $after kB (from $during)"
done

# 6. --timeout's values
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run bad 2 $args
	has bad err "$msg"
done <<'LIST'
serve --timeout soon|^fdx serve: --timeout: 'soon' is not a number of seconds
connect --timeout -1|^fdx connect: --timeout: '-1' is not a number of seconds
send-image --timeout 5000000|^fdx send-image: --timeout: '5000000' is more than 4000000 seconds$
LIST
pass "--timeout usage errors"
