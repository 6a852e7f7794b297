#!/bin/bash
# tests/stream.sh - serve --frames/--duration and connect following a stream: every frame
# verified, totals agreed, no page fault per frame, damage diagnosed, usage refused
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${RAW_PEER:?RAW_PEER must point at tests/raw-peer}"

# 1. a 500-frame verified stream through a ring of 4
bg serve serve --frames 500 --json
run conn 0 connect --verify --json
reap serve "$BG" 0
jq -e '.exit == 0 and .stream.frames == 500 and .stream.ok == 500 and .stream.mismatch == 0
	and .stream.unchecked == 0 and .stream.bytes == 500 * 3110400
	and .stream.hold_ns.p50 > 0 and .stream.hold_ns.p99 >= .stream.hold_ns.p50
	and .stream.hold_ns.max >= .stream.hold_ns.p99 and .stream.verify_bytes_per_second > 0
	and .stream.first_mismatch_frame == null and .total.objects == 4' "$T/conn.out" >/dev/null ||
	fail "connect stream report: $(jq -c .stream "$T/conn.out")"
jq -e '.exit == 0 and .clients[0].stream.frames == 500 and .clients[0].stream.ok == 500
	and .clients[0].stream.handoff_ns.p50 > 0
	and .clients[0].stream.handoff_ns.p99 >= .clients[0].stream.handoff_ns.p50' \
	"$T/serve.out" >/dev/null || fail "serve stream report: $(jq -c '.clients[0].stream' "$T/serve.out")"
# nothing allocated, mapped or faulted per frame: far fewer faults than frames
for f in "$T/conn.out:.stream.page_faults" "$T/serve.out:.clients[0].stream.page_faults"; do
	n=$(jq "${f#*:}" "${f%%:*}")
	[ "$n" -le 16 ] || fail "$n page faults in a 500-frame stream (${f#*:})"
done
pass "500 verified frames, totals agreed, no faults per frame"

# 2. the text report on both sides
bg serve serve -f 50 --count 2 --size 64K
run conn 0 connect --verify
reap serve "$BG" 0
has conn out '^stream: 50 frames in [0-9.]+ s, [0-9]+ fps, [0-9.]+ GB/s; verified at [0-9.]+ GB/s; hold p50 [0-9.]+ us, p99 [0-9.]+ us, max [0-9.]+ us; 50 ok; [0-9]+ page faults$'
has serve out '^stream: 50 frames in [0-9.]+ s, [0-9]+ fps, [0-9.]+ GB/s; handoff p50 [0-9.]+ us, p99 [0-9.]+ us, max [0-9.]+ us; 50 ok; [0-9]+ page faults$'
pass "stream report lines"

# 3. damage on the first reused frame (frame 4 in buffer 0), diagnosed as such
while IFS='|' read -r kind msg; do
	bg serve serve --frames 12 --inject "$kind" --json
	run conn 1 connect --verify --json
	reap serve "$BG" 1
	has conn err "^fdx connect: frame 4 in buffer 0 differs from the pattern at offset [0-9]+ \\([0-9]+ bytes?(; plane [01]: [0-9]+)*\\); $msg"
	jq -e '.exit == 1 and .stream.frames == 12 and .stream.mismatch == 1 and .stream.ok == 11
		and .stream.first_mismatch_frame == 4' "$T/conn.out" >/dev/null ||
		fail "$kind: $(jq -c .stream "$T/conn.out")"
	jq -e '.clients[0].stream.mismatch == 1 and .clients[0].stream.first_mismatch_frame == 4' \
		"$T/serve.out" >/dev/null || fail "$kind: serve $(jq -c '.clients[0].stream' "$T/serve.out")"
	pass "--inject $kind in a stream"
done <<'LIST'
stale|stale: it holds frame 0, not frame 4$
torn|torn: frame 4 up to offset 155520[0-7], frame 0 from there on$
flip:4096|corrupt: no frame near 4 holds these bytes$
LIST

# 4. many mismatches: the first five are named, the rest counted
bg serve serve --frames 40 --count 2 --size 4K --no-fill
run conn 1 connect --verify --json
reap serve "$BG" 1
[ "$(grep -c '^fdx connect: frame [0-9]* in buffer' "$T/conn.err")" -eq 5 ] ||
	fail "expected 5 frames named on stderr"
has conn err 'further mismatching frames are counted, not shown'
jq -e '.stream.mismatch == 38 and .stream.ok == 2 and .stream.first_mismatch_frame == 2' \
	"$T/conn.out" >/dev/null || fail "--no-fill with --verify: $(jq -c .stream "$T/conn.out")"
pass "--no-fill seen as stale by a verifying consumer; reports capped at 5"

# 5. --duration, and a handoff without filling or verifying
bg serve serve --duration 0.3 --no-fill --size 1M --json
run conn 0 connect --json
reap serve "$BG" 0
jq -e '.stream.frames > 10 and .stream.unchecked == .stream.frames and .stream.seconds >= 0.25' \
	"$T/conn.out" >/dev/null || fail "--duration: $(jq -c .stream "$T/conn.out")"
jq -e '.clients[0].stream.frames > 10' "$T/serve.out" >/dev/null || fail "--duration on serve"
pass "--duration with --no-fill"

# 6. options that do not go together
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run bad 2 serve $args
	has bad err "$msg"
	[ ! -e "$XDG_RUNTIME_DIR/fdx.sock" ] || fail "serve $args left a socket"
done <<'LIST'
--frames 5 --duration 1|--frames and --duration exclude each other
--duration 0|--duration: give more than 0 seconds
--no-fill|--no-fill needs a stream
--frames 9 --no-fill --inject stale|--inject needs the buffers filled
--frames 4 --inject torn|give --frames more than 4
--frames 0|--frames: '0' is out of range
--duration soon|--duration: 'soon' is not a number of seconds
--copy|--copy needs a stream
LIST
pass "stream usage errors"

# 7. either side killed mid-stream: the survivor ends with exit 3, naming the cause,
# and leaks nothing (the fd checker runs it)
bg serve serve --frames 100000000 --size 1M
run_bg_conn() { (LD_PRELOAD=$FDCHECK exec "$FDX" connect --verify) >"$T/conn.out" 2>"$T/conn.err" & }
run_bg_conn
conn=$!
sleep 0.5
kill -KILL "$conn"
wait "$conn" 2>/dev/null
reap serve "$BG" 3
# it may be reading a RELEASE or sending a READY when the consumer dies
has serve err "^fdx serve: client 1: (peer closed the connection|connection reset by peer) (while READY or RELEASE was expected|before READY could be sent)"
pass "consumer killed mid-stream: serve exits 3"

bg serve serve --frames 100000000 --size 1M
run_bg_conn
conn=$!
sleep 0.5
kill -KILL "$BG"
wait "$BG" 2>/dev/null
reap conn "$conn" 3
has conn err "^fdx connect: (peer closed the connection|connection reset by peer) (while READY or RELEASE was expected|before RELEASE could be sent)"
pass "producer killed mid-stream: connect exits 3"

# 8 and 9 need SEQPACKET itself: a raw SEQPACKET peer, and --copy's DATA records
if seqpacket_only "a raw consumer, and --copy"; then
# 8. a consumer without the STREAM capability is told why, not left hanging
bg serve serve --frames 10 --count 2 --size 4K
"$RAW_PEER" --consumer "$XDG_RUNTIME_DIR/fdx.sock" ack-all >"$T/peer.out" 2>"$T/peer.err" ||
	fail "raw-peer ack-all: $(cat "$T/peer.err")"
reap serve "$BG" 3
has serve err "^fdx serve: client 1: consumer 'raw-consumer' does not take streams"
grep -q "^ERROR 3: consumer 'raw-consumer' does not take streams" "$T/peer.out" ||
	fail "the consumer was not told: $(cat "$T/peer.out")"
pass "a consumer that cannot stream gets an ERROR"

# 9. --copy: the same stream, the bytes through the socket into the consumer's own memory
# (300 KiB frames: DATA records of 128 KiB and a shorter last one)
# (faults: none per frame; a sanitizer build touches shadow pages once per buffer)
bg serve serve --copy --frames 300 --size 300K --json
run conn 0 connect --verify --json
reap serve "$BG" 0
jq -e '.exit == 0 and .stream.frames == 300 and .stream.ok == 300 and .stream.mismatch == 0
	and .objects[0].backend == "copy" and .objects[0].seals == []
	and .objects[0].verdict == "unchecked" and .stream.page_faults < 100' "$T/conn.out" >/dev/null ||
	fail "--copy stream: $(jq -c '{stream, o: .objects[0]}' "$T/conn.out")"
jq -e '.clients[0].stream.ok == 300' "$T/serve.out" >/dev/null || fail "--copy on serve"
pass "--copy stream verified"

bg serve serve --copy --frames 10 --inject stale
run conn 1 connect --verify
reap serve "$BG" 1
has conn err "frame 4 in buffer 0 .*; stale: it holds frame 0, not frame 4$"
pass "--copy carries damage like zero-copy does"

bg serve serve --copy --frames 10 --count 2 --size 4K
"$RAW_PEER" --consumer "$XDG_RUNTIME_DIR/fdx.sock" ack-all >"$T/peer.out" 2>"$T/peer.err" ||
	fail "raw-peer ack-all: $(cat "$T/peer.err")"
reap serve "$BG" 3
has serve err "^fdx serve: client 1: consumer 'raw-consumer' does not take streams"
pass "--copy to a consumer that cannot take it"
fi

# 10. a ring of images: formats in turn, padded rows, an fd per plane; damage lands in
# the planes and is still diagnosed across them
bg serve serve --frames 200 --count 3 --format nv12,i420,yuyv --width 322 --height 240 \
	--align 64 --fd-per-plane --json
run conn 0 connect --verify --json
reap serve "$BG" 0
jq -e '.exit == 0 and .stream.frames == 200 and .stream.ok == 200
	and [.objects[].format] == ["nv12", "i420", "yuyv"] and [.objects[].fds] == [2, 3, 1]
	and .objects[0].planes[0].stride == 384 and .stream.page_faults <= 16' \
	"$T/conn.out" >/dev/null || fail "image ring: $(jq -c '{stream, f: [.objects[].format]}' "$T/conn.out")"
bg serve serve --frames 8 --count 2 --width 64 --height 32 --fd-per-plane --inject torn
run conn 1 connect --verify
reap serve "$BG" 1
has conn err "^fdx connect: frame 2 in buffer 0 differs from the pattern at offset 1536 .*; torn: frame 2 up to offset 1536, frame 0 from there on$"
pass "image ring: 200 frames verified, torn across planes diagnosed"

if seqpacket_only "--copy of images"; then
# 11. --copy of images: the planes travel in the one buffer the consumer makes
bg serve serve --copy --frames 50 --format rgb24,nv12 --width 100 --height 20 --align 16 --json
run conn 0 connect --verify --json
reap serve "$BG" 0
jq -e '.exit == 0 and .stream.ok == 50 and [.objects[].backend] == ["copy", "copy", "copy", "copy"]
	and .objects[1].format == "nv12"' "$T/conn.out" >/dev/null ||
	fail "--copy of images: $(jq -c '{stream, o: .objects[1]}' "$T/conn.out")"
run bad 2 serve --copy --frames 5 --fd-per-plane
has bad err "^fdx serve: --copy sends each object as one buffer; it does not go with --fd-per-plane$"
pass "--copy of images verified"
fi

# 12. a stream's frames dumped: the first, then every 25th received
rm -rf "$T/frames"
bg serve serve --frames 100 --count 2 --width 32 --height 16
run conn 0 connect --verify --dump "$T/frames" --dump-every 25 --json
reap serve "$BG" 0
ls "$T/frames" >"$T/frames.list"
[ "$(tr '\n' ' ' <"$T/frames.list")" = "frame-00000000.ppm frame-00000025.ppm frame-00000050.ppm frame-00000075.ppm object-0000.ppm object-0001.ppm " ] ||
	fail "dumped: $(tr '\n' ' ' <"$T/frames.list")"
jq -e '.dumps.written == 6 and .dumps.failed == 0' "$T/conn.out" >/dev/null ||
	fail "dumps JSON: $(jq -c .dumps "$T/conn.out")"
pass "--dump-every 25 in a 100-frame stream: 4 frames and the 2 objects"
