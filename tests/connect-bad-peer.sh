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
LIST
