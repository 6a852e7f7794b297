#!/bin/bash
# tests/serve-connect-options.sh - serve/connect options and endpoint handling: --clients,
# -v, -q, --json, --socket, a live or stale socket, signals, stdout write errors
. "${TOP_SRCDIR:-.}/tests/lib.sh"
sock=$T/s.sock

# --clients 3: three consumers one after the other, then serve ends by itself
bg serve serve -s "$sock" --clients 3 --count 2 --size 4K
for i in 1 2 3; do
	run "c$i" 0 connect -s "$sock" --verify
done
reap serve "$BG" 0
[ "$(grep -c '^client [123] (pid [0-9]*, fdx-connect): 2 objects, 8192 bytes in .*: 2 ok$' "$T/serve.out")" -eq 3 ] ||
	fail "serve: expected three client lines"
pass "--clients 3"

# -v: the protocol trace on stderr, both directions, in order
bg serve serve -s "$sock" -v --count 2 --size 100
run conn 0 connect -s "$sock" -v --verify
reap serve "$BG" 0
for pat in '-> HELLO seq=0 .*role=producer' '<- HELLO seq=0 .*role=consumer' \
	'-> OBJECT seq=1 nfds=1 index=0 size=100' '-> OBJECT seq=2 nfds=1 last index=1' \
	'<- OBJECT_ACK seq=2 nfds=0 index=1 verdict=ok' '<- BYE seq=3' '-> BYE seq=3'; do
	has serve err "^fdx serve: $pat"
done
has conn err '^fdx connect: <- OBJECT seq=1 nfds=1 index=0'
has conn err '^fdx connect: -> BYE seq=3'
pass "-v traces every message"

# -q: nothing on stdout, on either side
bg serve serve -s "$sock" -q
run conn 0 connect -s "$sock" -q --verify
reap serve "$BG" 0
if [ -s "$T/serve.out" ] || [ -s "$T/conn.out" ]; then fail "-q printed on stdout"; fi
run qv 2 connect -q -v
has qv err 'exclude each other'
pass "-q is quiet"

# --json: valid documents with the documented fields
bg serve serve -s "$sock" --json --count 3 --size 1000 --inject flip:999
run conn 1 connect -s "$sock" --json --verify
reap serve "$BG" 1
jq -e '.exit == 1 and .total.objects == 3 and .total.mismatch == 1 and .total.ok == 2
	and .objects[0].first_mismatch == 999 and .objects[0].mismatched_bytes == 1
	and .objects[1].first_mismatch == null and .objects[2].frame == 2
	and (.objects[0].seals - ["exec"]) == ["shrink","grow","seal"]
	and .server.name == "fdx-serve" and .server.protocol == "1.0"
	and .error == null' "$T/conn.out" >/dev/null || fail "connect --json content"
jq -e '.exit == 1 and .count == 3 and .clients[0].mismatch == 1 and .clients[0].ok == 2
	and .clients[0].acks[0].verdict == "mismatch" and .clients[0].acks[0].first_mismatch == 999
	and .clients[0].name == "fdx-connect" and .clients[0].error == null
	and .clients[0].exit == 1' "$T/serve.out" >/dev/null || fail "serve --json content"
run jmiss 5 connect -s "$T/none.sock" --wait 0 --json
jq -e '.exit == 5 and (.error | test("cannot connect to .*none.sock")) and .objects == []
	and .total.objects == 0' "$T/jmiss.out" >/dev/null ||
	fail "connect --json on failure"
pass "--json reports"

# a live server is never displaced; its socket is left alone
bg serve serve -s "$sock" -q
wait_for_socket "$sock"
ino=$(stat -c %i "$sock")
run second 4 serve -s "$sock"
has second err "cannot listen on '$sock': a server is already running there"
[ "$(stat -c %i "$sock")" = "$ino" ] || fail "the second server touched the live socket"
run third 4 serve -s "$T/./s.sock"
has third err "a server is already running there"
[ "$(stat -c %i "$sock")" = "$ino" ] || fail "another spelling of the path displaced the live socket"
run conn 0 connect -s "$sock" -q
reap serve "$BG" 0
pass "already running: exit 4, socket untouched"

# a stale socket file (its server was killed) is replaced
bg dead serve -s "$sock" -q
wait_for_socket "$sock"
kill -KILL "$BG"
wait "$BG" 2>/dev/null
[ -S "$sock" ] || fail "SIGKILL should have left a stale socket"
bg serve serve -s "$sock" -q
run conn 0 connect -s "$sock" -q --verify
reap serve "$BG" 0
pass "stale socket of a killed server replaced"

# a regular file at the path is never deleted
echo data >"$sock"
run notsock 4 serve -s "$sock"
has notsock err "cannot listen on '$sock'"
[ "$(cat "$sock")" = data ] || fail "serve clobbered a regular file"
rm -f "$sock"
pass "a regular file in the way is left alone"

# SIGTERM and SIGINT remove the socket of a long-running server
for sig in TERM INT; do
	bg serve serve -s "$sock" --clients 0 -q
	wait_for_socket "$sock"
	kill -"$sig" "$BG"
	wait "$BG"
	[ ! -e "$sock" ] || fail "SIG$sig left the socket behind"
done
pass "signals remove the socket"

# the socket is created for this user only
bg serve serve -s "$sock" -q
wait_for_socket "$sock"
[ "$(stat -c %a "$sock")" = 700 ] || fail "socket mode is $(stat -c %a "$sock"), expected 700"
run conn 0 connect -s "$sock" -q
reap serve "$BG" 0
pass "socket mode 0700"

# paths that cannot be a UNIX socket address
long=$T/$(printf 'x%.0s' $(seq 1 120))
run longs 2 serve -s "$long"
has longs err 'is longer than 107 bytes'
run longc 2 connect -s "$long"
has longc err 'is longer than 107 bytes'
run emptys 2 serve -s ""
pass "over-long and empty socket paths are usage errors"

# a write error on stdout fails the command
bg serve serve -s "$sock"
fdx connect -s "$sock" >/dev/full 2>"$T/full.err"
st=$?
reap serve "$BG" 0
[ "$st" -eq 4 ] || fail "connect >/dev/full exited $st, expected 4"
has full err 'write error'
fdx --help >/dev/full 2>/dev/null && fail "fdx --help >/dev/full succeeded"
pass "write errors on stdout exit 4"
