#!/bin/bash
# tests/serve-bad-consumer.sh - fdx serve against consumers that break the protocol (raw
# sendmsg, tests/raw-peer --consumer): the offender gets an ERROR naming the cause, the
# client after it is served normally, serve exits 3, and no fd leaks
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${RAW_PEER:?RAW_PEER must point at tests/raw-peer}"
sock=$T/c.sock

# A kernel with SO_PASSRIGHTS (6.16) lets serve turn off fds from its clients: then the
# kernel refuses a client's fd before serve sees the message at all.
passrights=$("$FDX" doctor --json | jq -r '.probes[] | select(.name == "so-passrights") | .status')
if [ "$passrights" = ok ]; then
	fd_on_ack='peer closed the connection while OBJECT_ACK was expected$|^REFUSED BY THE KERNEL$'
else
	fd_on_ack='OBJECT_ACK with 1 fds received, header says 1$|^ERROR 3: OBJECT_ACK with 1 fds'
fi

while IFS='|' read -r mode msg answer; do
	bg serve serve -s "$sock" --clients 2 --count 3 --size 64K
	"$RAW_PEER" --consumer "$sock" "$mode" >"$T/peer.out" 2>"$T/peer.err" ||
		fail "raw-peer $mode failed: $(cat "$T/peer.err")"
	run good 0 connect -s "$sock" --verify
	reap serve "$BG" 3
	has serve err "^fdx serve: client 1: $msg"
	has serve out '^client 2 \(pid [0-9]+, fdx-connect\): 3 objects, 196608 bytes in .*: 3 ok$'
	grep -Eq -- "$answer" "$T/peer.out" ||
		fail "$mode: the peer got '$(cat "$T/peer.out")', expected /$answer/"
	pass "$mode: refused, next client served"
done <<LIST
close|peer closed the connection while OBJECT_ACK was expected$|^CLOSED$
wrong-index|OBJECT_ACK for object 3, expected 0$|^ERROR 3: OBJECT_ACK for object 3
fd-on-ack|$fd_on_ack
lying-verdict|bad OBJECT_ACK message \(48 bytes\): invalid payload$|^ERROR 3: bad OBJECT_ACK
same-role|peer is a producer too; one side must be the consumer$|^ERROR 3: peer is a producer
few-objects|client accepts at most 2 objects, asked to send 3$|^ERROR 3: client accepts at most 2
LIST
