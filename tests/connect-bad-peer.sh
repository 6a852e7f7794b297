#!/bin/bash
# tests/connect-bad-peer.sh - fdx connect against a producer that breaks the protocol or
# sends unusable buffers (tests/raw-peer, raw sendmsg): exit 3, a message naming the
# cause, an ERROR sent back where the connection still stands, and no fd leaked
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${RAW_PEER:?RAW_PEER must point at tests/raw-peer}"
sock=$T/p.sock

# mode | what connect must say | what the peer must get back (regex on its report)
while IFS='|' read -r mode msg answer; do
	rm -f "$sock"
	"$RAW_PEER" "$sock" "$mode" >"$T/peer.out" 2>"$T/peer.err" &
	peer=$!
	run "conn_$mode" 3 connect -s "$sock" --verify
	wait "$peer" || fail "raw-peer $mode failed: $(cat "$T/peer.err")"
	has "conn_$mode" err "^fdx connect: $msg"
	grep -Eq -- "$answer" "$T/peer.out" ||
		fail "$mode: the peer got '$(cat "$T/peer.out")', expected /$answer/"
	pass "$mode"
done <<'LIST'
pipe|buffer 0: fd is a pipe, not a buffer$|^ERROR 3: buffer 0: fd is a pipe
devzero|buffer 0: fd is a character device, not a buffer$|^ERROR 3: buffer 0: fd is a character
unsealed|buffer 0: not sealed against shrinking \(seals: none\)$|^ERROR 3: buffer 0: not sealed
short|buffer 0: size 4096 < 8294400 claimed$|^ERROR 3: buffer 0: size 4096 < 8294400
no-fd|OBJECT with 0 fds received, header says 1$|^ERROR 3: OBJECT with 0 fds
extra-fds|control data truncated: peer attached more than 4 fds$|^ERROR 3: control data truncated
wrong-seq|OBJECT has sequence number 7, expected 1$|^ERROR 3: OBJECT has sequence number 7
unknown-type|unknown message type 42$|^ERROR 3: unknown message type 42
early-bye|unexpected BYE while OBJECT was expected$|^ERROR 3: unexpected BYE
error|peer reported an error: producer ran out of memory$|^EOF$
close|peer closed the connection while OBJECT was expected$|^CLOSED$
bad-magic|bad magic 0x31584[0-9a-f]{3} in a 120-byte message$|^ERROR 3: bad magic
bad-version|peer speaks protocol 2.0, this is 1.0$|^ERROR 3: peer speaks protocol 2.0
lying-length|bad HELLO message \(120 bytes\): length field disagrees|^ERROR 3: bad HELLO
short-header|bad message \(10 bytes\): message shorter than a header$|^ERROR 3: bad message
fd-on-hello|HELLO with 1 fds received, header says 1$|^ERROR 3: HELLO with 1 fds
same-role|peer is a consumer too; one side must be the producer$|^ERROR 3: peer is a consumer too
image-stride|buffer 0: plane 0: stride 4 < 8 row bytes$|^ERROR 3: buffer 0: plane 0: stride 4
image-past-end|buffer 0: plane 1: offset 32 \+ 2 rows x 8 stride = 48 > fd size 40$|^ERROR 3: buffer 0: plane 1
image-pipe|buffer 0: fd 1 is a pipe, not a buffer$|^ERROR 3: buffer 0: fd 1 is a pipe
LIST

# a checksum that is not the picture's: a mismatch (exit 1), not a protocol error, and the
# ACK says so without an offset
rm -f "$sock"
"$RAW_PEER" "$sock" image-checksum >"$T/peer.out" 2>"$T/peer.err" &
peer=$!
run conn_sum 1 connect -s "$sock" --verify --json
wait "$peer" || fail "raw-peer image-checksum failed: $(cat "$T/peer.err")"
grep -q '^ACK mismatch first_mismatch=none mismatched_bytes=0$' "$T/peer.out" ||
	fail "image-checksum: the peer got '$(cat "$T/peer.out")'"
has conn_sum err '^fdx connect: buffer 0 differs: checksum xxh3:[0-9a-f]{16} of its pixels, expected xxh3:0000000000000bad$'
jq -e '.exit == 1 and .total.mismatch == 1 and .objects[0].content == "checksum"
	and .objects[0].checksum == "xxh3:0000000000000bad" and .objects[0].verdict == "mismatch"
	and (.objects[0].computed_checksum | test("^xxh3:[0-9a-f]{16}$"))
	and .objects[0].first_mismatch == null' "$T/conn_sum.out" >/dev/null ||
	fail "image-checksum JSON: $(jq -c '.objects[0]' "$T/conn_sum.out")"
pass "a wrong checksum is a mismatch, reported without an offset"
