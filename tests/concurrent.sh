#!/bin/bash
# tests/concurrent.sh - fdx serve --concurrent: many consumers at once on one shared ring,
# every frame verified by each, a slow consumer's frames dropped and counted while the
# others keep their pace, late joiners, a consumer killed mid-stream, 32 at once
. "${TOP_SRCDIR:-.}/tests/lib.sh"
sock=$T/c.sock

# consumers N ARGS...: N connects in the background, outputs in $T/c$i.{out,err}
consumers() {
	local n=$1 i
	shift
	for i in $(seq 1 "$n"); do
		(LD_PRELOAD=$FDCHECK exec "$FDX" connect -s "$sock" "$@") \
			>"$T/c$i.out" 2>"$T/c$i.err" &
		BG_PIDS+=("$!")
		CONS+=("$!")
	done
}

# all_exit STATUS: every consumer started since the last reset exited with STATUS
all_exit() {
	local p st
	for p in "${CONS[@]}"; do
		wait "$p"
		st=$?
		[ "$st" -eq "$1" ] || fail "a consumer (pid $p) exited $st, expected $1"
	done
	CONS=()
}
CONS=()

# 1. seven consumers, then the same seven and an eighth that holds each frame 20 ms:
# every frame each gets is verified; the slow one's frames are dropped (and counted),
# the others keep what they had without it
run_fan() {
	bg serve serve -s "$sock" --clients "$1" --concurrent --frames 2000 --count 8 \
		--max-held 2 --size 64K --json
	wait_for_socket "$sock"
	consumers 7 --verify -q
	[ "$1" -eq 8 ] && consumers 1 --verify -q --inject slow-release:20
	all_exit 0
	reap serve "$BG" 0
}
run_fan 7
cp "$T/serve.out" "$T/alone.json"
run_fan 8
jq -e '.exit == 0 and (.clients | length) == 8
	and all(.clients[]; .exit == 0 and .objects == 8 and .ok == 8
		and .stream.ok == .stream.frames and .stream.mismatch == 0
		and .stream.frames + .stream.dropped == 2000)' "$T/serve.out" >/dev/null ||
	fail "8 consumers: $(jq -c '[.clients[] | {exit, f: .stream.frames, d: .stream.dropped}]' "$T/serve.out")"
# the slow one: at most 2 held at a time, 20 ms each, so most frames pass it by
slow=$(jq '[.clients[].stream.frames] | min' "$T/serve.out")
[ "$slow" -lt 1000 ] || fail "the slow consumer got $slow of 2000 frames"
# the others: most frames, and at least half the pace they had without the slow one
jq -e --slurpfile a "$T/alone.json" '
	([.clients[].stream | select(.frames > 1000)] | length) == 7
	and ([.clients[].stream | select(.frames > 1000) | .fps] | min)
		>= 0.5 * ([$a[0].clients[].stream.fps] | min)' "$T/serve.out" >/dev/null ||
	fail "the others slowed: with $(jq -c '[.clients[].stream.fps | floor]' "$T/serve.out"), alone $(jq -c '[.clients[].stream.fps | floor]' "$T/alone.json")"
has serve out '"dropped":'
pass "8 consumers, one slow: all verified, the slow one's $((2000 - slow)) drops counted, the others at pace"

# the text report: one line per client and its stream
bg serve serve -s "$sock" --clients 2 --concurrent --frames 50 --count 4 --size 4K
wait_for_socket "$sock"
consumers 2 --verify -q
all_exit 0
reap serve "$BG" 0
[ "$(grep -Ec '^client [12] \(pid [0-9]+, fdx-connect\): 4 objects, 16384 bytes in [0-9.]+ ms: 4 ok$' "$T/serve.out")" -eq 2 ] ||
	fail "client lines"
# (no pacing: the producer goes at the pace of the faster, so the other may drop a few)
[ "$(grep -Ec '^stream: [0-9]+ frames in .*; ([0-9]+) ok; [0-9]+ dropped, at most [0-9]+ frames behind; [0-9]+ page faults$' "$T/serve.out")" -eq 2 ] ||
	fail "stream lines"
pass "per-client text report"

# 2. a consumer that joins late gets the set as it is then (each buffer's current frame)
# and the frames from then on
bg serve serve -s "$sock" --clients 0 --concurrent --duration 1.5 --count 4 --size 64K --json
wait_for_socket "$sock"
consumers 1 --verify -q
sleep 0.5
consumers 1 --verify -q --json
all_exit 0
reap serve "$BG" 0
jq -e '(.clients | length) == 2 and all(.clients[]; .exit == 0 and .ok == 4)
	and .clients[1].stream.frames < .clients[0].stream.frames
	and .clients[1].stream.frames > 0' "$T/serve.out" >/dev/null ||
	fail "late join: $(jq -c '[.clients[] | {ok, f: .stream.frames}]' "$T/serve.out")"
jq -e '[.objects[].verdict] == ["ok", "ok", "ok", "ok"] and ([.objects[].frame] | max) > 3' \
	"$T/c1.out" >/dev/null || fail "the late joiner's objects: $(jq -c '[.objects[] | {frame, verdict}]' "$T/c1.out")"
pass "a late joiner: the ring as it is, verified, then the rest of the stream"

# 3. no stream: three consumers at once get the set
bg serve serve -s "$sock" --clients 3 --concurrent --count 3 --size 8K --format raw
wait_for_socket "$sock"
consumers 3 --verify -q
all_exit 0
reap serve "$BG" 0
[ "$(grep -c ': 3 objects, 24576 bytes in .*: 3 ok$' "$T/serve.out")" -eq 3 ] || fail "no-stream fan-out"
pass "three consumers, no stream"

# 4. one of four killed mid-stream: the others finish; serve says which failed (exit 3)
bg serve serve -s "$sock" --clients 4 --concurrent --duration 1.5 --count 8 --size 64K --json
wait_for_socket "$sock"
consumers 4 --verify -q
sleep 0.7
victim=${CONS[0]}
kill -KILL "$victim"
wait "$victim" 2>/dev/null
CONS=("${CONS[@]:1}")
all_exit 0
reap serve "$BG" 3
jq -e '([.clients[] | select(.exit == 0 and .stream.ok > 0)] | length) == 3
	and ([.clients[] | select(.exit == 3)] | length) == 1' "$T/serve.out" >/dev/null ||
	fail "one killed: $(jq -c '[.clients[] | {exit, error}]' "$T/serve.out")"
has serve err "^fdx serve: client [0-9]+: (peer closed the connection|connection reset by peer)"
pass "a consumer killed: the other three finish, serve exits 3 naming it"

# 5. thirty-two at once
bg serve serve -s "$sock" --clients 32 --concurrent --frames 300 --count 8 --size 4K --json
wait_for_socket "$sock"
consumers 32 --verify -q
all_exit 0
reap serve "$BG" 0
jq -e '(.clients | length) == 32 and all(.clients[]; .exit == 0
	and .stream.ok == .stream.frames and .stream.frames + .stream.dropped == 300)' \
	"$T/serve.out" >/dev/null || fail "32 consumers: $(jq -c '[.clients[] | .exit]' "$T/serve.out")"
pass "32 consumers at once, all verified"

# 6. what does not go with --concurrent
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run bad 2 serve -s "$sock" $args
	has bad err "$msg"
	[ ! -e "$sock" ] || fail "serve $args left a socket"
done <<'LIST'
--max-held 2|^fdx serve: --max-held is for --concurrent streams$
--concurrent --receive|^fdx serve: --concurrent serves producers' consumers; --receive takes one client at a time$
--concurrent --copy --frames 5|^fdx serve: --copy sends each client its own bytes
--concurrent --max-held 0|^fdx serve: --max-held: '0' is out of range \(1 to 4\)$
--concurrent --count 2 --max-held 3|^fdx serve: --max-held: '3' is out of range \(1 to 2\)$
LIST
pass "--concurrent usage errors"
