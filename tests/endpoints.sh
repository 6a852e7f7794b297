#!/bin/bash
# tests/endpoints.sh - who may connect, and whose socket is whose: abstract sockets need a
# peer check, --allow-uid on both sides (a second user, for real), a foreign live socket
# under another spelling of the path is never removed, and fds a producer never takes
# are refused by the kernel where it can (SO_PASSRIGHTS)
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${RAW_PEER:?RAW_PEER must point at tests/raw-peer}"
abstract="@fdx-test-$$-$RANDOM"

# 1. an abstract name: anyone could connect, so serve wants --allow-uid
run noallow 2 serve -s "$abstract"
has noallow err "^fdx serve: --socket $abstract: an abstract socket has no permissions; say who may connect with --allow-uid$"
bg serve serve -s "$abstract" --allow-uid "$(id -u)" --count 2 --size 8K
run ab 0 connect -s "$abstract" --verify --wait 5
reap serve "$BG" 0
has ab out '^total: 2 objects, 16384 bytes: 2 ok'
has serve out "^listening on $abstract "
pass "an abstract socket: refused without --allow-uid, served with it"

# 2. a second user, for real (root drops to nobody with setpriv)
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	pub=$(mktemp -d /tmp/fdx-endpoints.XXXXXX)
	chmod 0755 "$pub"
	cp "$FDX" "$pub/fdx"
	chmod 0755 "$pub/fdx"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/fdx" "$@"; }

	# root's server allows root only: nobody is refused, and told why
	bg serve serve -s "$abstract" --allow-uid 0 --count 1 --size 4K
	as_nobody connect -s "$abstract" --wait 5 >"$T/nb.out" 2>"$T/nb.err"
	st=$?
	reap serve "$BG" 3
	[ "$st" -eq 3 ] || fail "nobody at a root-only server exited $st"
	has nb err "^fdx connect: peer reported an error: the peer runs as uid 65534, which --allow-uid does not name$"
	has serve err "^fdx serve: client 1: the peer runs as uid 65534, which --allow-uid does not name$"

	# named, nobody is served (root's sealed memfds go to another user fine)
	bg serve serve -s "$abstract" --allow-uid nobody,0 --count 1 --size 4K
	as_nobody connect -s "$abstract" --verify --wait 5 >"$T/nb.out" 2>"$T/nb.err" ||
		fail "nobody, allowed: $(cat "$T/nb.err")"
	reap serve "$BG" 0
	has nb out '^total: 1 objects, 4096 bytes: 1 ok'

	# the other way: a server run by nobody at an abstract name is not root's to trust
	# unless root says so
	(setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/fdx" serve -s "$abstract" \
		--allow-uid 0 --clients 2 --count 1 --size 4K) >"$T/nbs.out" 2>"$T/nbs.err" &
	nbs=$!
	BG_PIDS+=("$nbs")
	run distrust 3 connect -s "$abstract" --wait 5
	has distrust err "^fdx connect: the peer runs as uid 65534: only this user \\(0\\) and root may, unless --allow-uid says otherwise$"
	run trust 0 connect -s "$abstract" --allow-uid 65534 --verify
	wait "$nbs"
	st=$?
	rm -rf "$pub"
	[ "$st" -eq 3 ] || fail "nobody's server exited $st (client 1 refused it: 3)"
	pass "a second user: refused by default and told why, served when --allow-uid names it, either side"
else
	echo "skip: not root (or no setpriv): no second user to test with"
fi

# 3. a live socket of another program, bound under another spelling of the path, is
# not removed: nothing in /proc/net/unix has that name, but it answers a connect
(cd "$T" && exec "$RAW_PEER" foreign.sock listen) >"$T/peer.out" 2>"$T/peer.err" &
peer=$!
BG_PIDS+=("$peer")
wait_for_socket "$T/foreign.sock"
run live 4 serve -s "$T/foreign.sock"
has live err "^fdx serve: cannot listen on '$T/foreign.sock': a server is already running there$"
[ -S "$T/foreign.sock" ] || fail "serve removed another program's live socket"
kill "$peer" 2>/dev/null
wait "$peer" 2>/dev/null
# once it is gone, its socket file is stale: replaced
bg serve serve -s "$T/foreign.sock" --count 1 --size 4K -q
run after 0 connect -s "$T/foreign.sock" -q
reap serve "$BG" 0
pass "another program's live socket kept, its stale file replaced"

# 4. fds a producer never takes: the kernel refuses them at the socket (SO_PASSRIGHTS,
# Linux 6.16) -- or, without it, serve refuses the message
passrights=$("$FDX" doctor --json | jq -r '.probes[] | select(.name == "so-passrights") | .status')
if seqpacket_only "a raw SEQPACKET client"; then
	bg serve serve -s "$T/p.sock" --count 1 --size 4K
	"$RAW_PEER" --consumer "$T/p.sock" fd-on-ack >"$T/peer.out" 2>"$T/peer.err" ||
		fail "raw-peer: $(cat "$T/peer.err")"
	reap serve "$BG" 3
	if [ "$passrights" = ok ]; then
		has peer out '^REFUSED BY THE KERNEL$'
		pass "an fd from a client: refused by the kernel (SO_PASSRIGHTS)"
	else
		has serve err 'OBJECT_ACK with 1 fds received, header says 1$'
		pass "an fd from a client: refused by serve (no SO_PASSRIGHTS here)"
	fi
fi

# 5. --allow-uid's values
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run bad 2 $args
	has bad err "$msg"
done <<'LIST'
serve --allow-uid nosuchuser-fdx|^fdx serve: --allow-uid: no user 'nosuchuser-fdx'$
connect --allow-uid 0,,1|^fdx connect: --allow-uid: '0,,1' is not a list of up to 16 users$
serve --allow-uid 4294967295|^fdx serve: --allow-uid: '4294967295' is out of range
serve -s @|^fdx serve: --socket @: an abstract socket has no permissions
LIST
pass "--allow-uid usage errors"
