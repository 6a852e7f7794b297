#!/bin/bash
# tests/stat.sh - fdx stat against live processes: the mkfds fixture checked field by field,
# filters, columns and formats, --summary, --orphans, --sockets, a real serve/connect
# stream (also against lsfd), an unprivileged run, write errors and usage errors
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${MKFDS:?MKFDS must point at tests/mkfds}"

# json_line FILE: the fixture's line is there, whole (jq 1.6 -e passes an empty file)
json_line() {
	[ -s "$1" ] && [ -z "$(tail -c 1 "$1")" ] && jq -e .pid "$1" >/dev/null 2>&1
}

# start_fixture NAME ARGS...: mkfds in the background; its JSON line lands in $T/NAME.json
start_fixture() {
	local name=$1 _
	shift
	"$MKFDS" "$@" >"$T/$name.json" 2>"$T/$name.err" &
	BG=$!
	BG_PIDS+=("$BG")
	for _ in $(seq 1 100); do
		json_line "$T/$name.json" && return 0
		kill -0 "$BG" 2>/dev/null || fail "mkfds $*: $(cat "$T/$name.err")"
		sleep 0.05
	done
	fail "mkfds $* printed nothing"
}

# the object KEY of the fixture, as the fixture describes it
obj() { jq -c --arg k "$1" '.objects[] | select(.key == $k)' "$T/mk.json"; }

# usage_error ARGS... MESSAGE: exit 2, the message, the pointer to --help, nothing else
usage_error() {
	local msg=${*: -1}
	run usage 2 stat "${@:1:$#-1}"
	has usage err "^fdx stat: $msg"
	has usage err "^Try 'fdx stat --help' for more information.$"
	[ "$(wc -l <"$T/usage.err")" -eq 2 ] || fail "stat ${*:1:$#-1}: $(cat "$T/usage.err")"
	[ ! -s "$T/usage.out" ] || fail "stat ${*:1:$#-1} printed on stdout"
}

start_fixture mk all "$T"
MK=$BG
P=$(jq .pid "$T/mk.json")
C=$(jq .child "$T/mk.json")
ALL=ID,TYPE,NAME,SIZE,OWNER,UID,PERMS,SEALS,HOLDERS,MAPS,NATTCH,CREATOR,SESSION,INDEX,PLANE,SEED,DEV,EXPORTER,CPID,LPID

# 1. every object the fixture made, field by field
run all 0 stat -J -o "$ALL"
for key in sealed unnamed maponly shm sysv file orphan-shm orphan-sysv; do
	jq -e --argjson o "$(obj "$key")" --arg user "$(id -un)" --argjson uid "$(id -u)" '
		[.buffers[] | select(.type == $o.type and .id == $o.id)] | length == 1 and (.[0] |
		.size == $o.size and .uid == $uid and .owner == $user
		and ($o.name == null or .name == $o.name)
		and (($o | has("seals") | not) or .seals == $o.seals)
		and ([.holders[] | {pid, fds}] == ($o.holders | sort_by(.pid)))
		and ([.holders[].comm, .maps[].comm] | all(. == "mkfds"))
		and ([.maps[].pid] == ($o.maps | sort))
		and (($o | has("nattch") | not) or .nattch == $o.nattch))' \
		"$T/all.out" >/dev/null ||
		fail "$key: expected $(obj "$key"), got $(jq -c --argjson o "$(obj "$key")" \
			'.buffers[] | select(.type == $o.type and .id == $o.id)' "$T/all.out")"
done
# provenance from the fdx name, and what only some kinds have
jq -e --argjson P "$P" --argjson s "$(obj sealed)" --argjson u "$(obj unnamed)" \
	--argjson v "$(obj sysv)" --argjson f "$(obj shm)" '
	(.buffers[] | select(.id == $s.id and .type == "memfd") | .creator == $P and
		.session == 7 and .index == 3 and .plane == null and .seed == 4660 and
		.dev == "0:1" and .nattch == null and .cpid == null and .exporter == null) and
	(.buffers[] | select(.id == $u.id and .type == "memfd") | .creator == null and
		.session == null and .seed == null) and
	(.buffers[] | select(.id == $v.id and .type == "sysv") | .perms == "0600" and
		.cpid == $P and .dev == null and .name == "0x00000000") and
	(.buffers[] | select(.id == $f.id and .type == "shm") | .perms == "0600")' \
	"$T/all.out" >/dev/null || fail "provenance and per-kind columns"
jq -e '.exit == 0 and .scanned > 2 and (.skipped | has("denied") and has("vanished"))' \
	"$T/all.out" >/dev/null || fail "JSON totals: $(jq -c 'del(.buffers)' "$T/all.out")"
pass "fixture objects found with the right inode, size, seals, holders, maps, provenance"

# names are any bytes: JSON stays valid (escapes, and \u00XX for what is not UTF-8)
start_fixture odd memfd $'say "hi"\\\ttab\x01\xff\xe2\x82\xac' 4096
ODD=$BG
run odd 0 stat -J -p "$(jq .pid "$T/odd.json")" -o NAME,SIZE
jq -e '.buffers == [{"name": "say \"hi\"\\\ttab\u0001\u00ff\u20ac", "size": 4096}]' \
	"$T/odd.out" >/dev/null || fail "odd name: $(cat "$T/odd.out")"
run odd_t 0 stat -r -n -p "$(jq .pid "$T/odd.json")" -o SIZE,NAME
has odd_t out '^4K say'
kill "$ODD"
wait "$ODD"
pass "JSON of names with quotes, backslashes, control bytes and bytes that are not UTF-8"

# 2. --pid: what a process holds or maps, and nothing else
run p 0 stat -J -p "$C"
jq -e --argjson C "$C" '.buffers | length > 0 and
	all(([.holders[].pid] + [.maps[].pid]) | index($C) != null)' "$T/p.out" >/dev/null ||
	fail "-p $C lists buffers the child neither holds nor maps"
for key in sealed maponly shm sysv file; do
	jq -e --argjson o "$(obj "$key")" 'any(.buffers[]; .type == $o.type and .id == $o.id)' \
		"$T/p.out" >/dev/null || fail "-p $C misses $key"
done
jq -e --argjson o "$(obj unnamed)" 'any(.buffers[]; .id == $o.id) | not' "$T/p.out" \
	>/dev/null || fail "-p $C lists the parent's own memfd"
run p2 0 stat -J -p "$P,$C" -t memfd
jq -e --argjson o "$(obj unnamed)" 'any(.buffers[]; .id == $o.id)' "$T/p2.out" >/dev/null ||
	fail "-p P,C misses the parent's memfd"
gone=$((P + 1))
while [ -e "/proc/$gone" ]; do gone=$((gone + 1)); done
run pgone 0 stat -J -p "$gone"
jq -e '.buffers == [] and .exit == 0' "$T/pgone.out" >/dev/null || fail "-p of no process"
run pgone_t 0 stat -p "$gone"
[ ! -s "$T/pgone_t.out" ] || fail "-p of no process printed something (an empty table prints nothing)"
pass "--pid: buffers held or mapped by that process; no such process, no buffers"

# 3. --type
run t 0 stat -J -t sysv
jq -e --argjson a "$(obj sysv)" --argjson b "$(obj orphan-sysv)" '
	(.buffers | length >= 2) and all(.buffers[]; .type == "sysv") and
	any(.buffers[]; .id == $a.id) and any(.buffers[]; .id == $b.id)' "$T/t.out" >/dev/null ||
	fail "-t sysv"
run t2 0 stat -J -t shm,memfd -p "$P"
jq -e '[.buffers[].type] | unique == ["memfd", "shm"]' "$T/t2.out" >/dev/null ||
	fail "-t shm,memfd: $(jq -c '[.buffers[].type] | unique' "$T/t2.out")"
pass "--type"

# 4. --output and --list-columns
run o 0 stat -J -o id,TYPE -p "$P"
jq -e 'all(.buffers[]; keys == ["id", "type"])' "$T/o.out" >/dev/null || fail "-o id,TYPE"
run o2 0 stat -J -o +DEV,PLANE -p "$P"
jq -e 'all(.buffers[]; keys == (["id", "type", "size", "owner", "perms", "seals",
	"holders", "maps", "creator", "name", "dev", "plane"] | sort))' "$T/o2.out" >/dev/null ||
	fail "-o +DEV,PLANE: $(jq -c '.buffers[0] | keys' "$T/o2.out")"
run lc 0 stat --list-columns
run lcj 0 stat --list-columns -J
[ "$(jq '.columns | length' "$T/lcj.out")" -eq 20 ] || fail "--list-columns -J: not 20 columns"
[ "$(jq -c '[.columns[] | select(.default) | .name]' "$T/lcj.out")" = \
	'["ID","TYPE","NAME","SIZE","OWNER","PERMS","SEALS","HOLDERS","MAPS","CREATOR"]' ] ||
	fail "--list-columns: wrong defaults"
for col in $(jq -r '.columns[].name' "$T/lcj.out"); do
	has lc out "^$col +(yes|no) +[a-zA-Z]"
	run col 0 stat -J -o "$col" -p "$P"
	# every column is explained in the man page
	awk '/^\.SH COLUMNS/ { on = 1; next } /^\.SH/ { on = 0 } on' \
		"${TOP_SRCDIR:-.}/man/fdx-stat.1" | grep -q "^\\.B $col\$" ||
		fail "column $col is not explained under COLUMNS in fdx-stat.1"
done
[ "$(echo "$ALL" | tr ',' '\n' | sort)" = "$(jq -r '.columns[].name' "$T/lcj.out" | sort)" ] ||
	fail "\$ALL here is not the list of columns"
pass "--output, +COLUMNS, --list-columns; every column accepted and documented"

# 5. text: table, --raw, --noheadings, --bytes, human sizes
sid=$(obj sealed | jq .id)
uid=$(obj unnamed | jq .id)
shid=$(obj shm | jq .id)
run txt 0 stat -o ID,TYPE,HOLDERS,MAPS -p "$P"
has txt out "^ +ID +TYPE +HOLDERS +MAPS *$"
has txt out "^ *$sid +memfd +2: $P mkfds,$C mkfds +1: $C mkfds *$"
run raw 0 stat -r -o ID,SIZE,NAME,HOLDERS -p "$P"
has raw out '^ID SIZE NAME HOLDERS$'
has raw out "^$sid 12.1K fdx:$P:7:3:s1234 2:\\\\x20$P\\\\x20mkfds,$C\\\\x20mkfds$"
has raw out "^$uid 4K  1:\\\\x20$P\\\\x20mkfds$"
has raw out "^$shid 19.5K /dev/shm/fdx-mkfds-obj-"
run rawb 0 stat -r -n -b -o ID,SIZE -p "$P"
hasnt rawb out '^ID'
has rawb out "^$sid 12345$"
has rawb out "^$shid 20000$"
pass "table, --raw, --noheadings, --bytes, human-readable sizes"

# 6. --summary
run sum 0 stat --summary -J -p "$P"
jq -e --argjson P "$P" --argjson C "$C" '
	(.types | map(.type)) == ["memfd", "shm", "dmabuf", "sysv", "file"] and
	(.types[] | select(.type == "memfd") | .buffers == 3 and .size == 12345 + 4096 + 8192) and
	(.types[] | select(.type == "sysv") | .buffers == 1 and .size == 30000) and
	.total.buffers == 6 and .total.size == 12345 + 4096 + 8192 + 20000 + 30000 + 5000 and
	(.processes[] | select(.pid == $P) | .comm == "mkfds" and .held == 3 and .mapped == 4
		and .size == .size) and
	(.processes[] | select(.pid == $C) | .held == 2 and .mapped == 4)' "$T/sum.out" \
	>/dev/null || fail "--summary -J: $(jq -c 'del(.exit)' "$T/sum.out")"
jq -e --argjson P "$P" '.processes[] | select(.pid == $P) |
	.size == 12345 + 4096 + 8192 + 20000 + 30000 + 5000' "$T/sum.out" >/dev/null ||
	fail "--summary: bytes of a process that holds and maps a buffer counted twice"
run sumt 0 stat --summary -b -p "$P"
has sumt out '^TYPE +BUFFERS +SIZE$'
has sumt out '^memfd +3 +24633$'
has sumt out '^total +6 +79633$'
has sumt out "^ *$P +mkfds +3 +4 +79633$"
pass "--summary: totals per type and per process"

# 7. --orphans: the unheld shm object and SysV segment, a stale socket; not live ones
bg live serve --clients 0 -s "$XDG_RUNTIME_DIR/live.sock" -q
LIVE=$BG
bg stale serve --clients 0 -s "$XDG_RUNTIME_DIR/stale.sock" -q
wait_for_socket "$XDG_RUNTIME_DIR/stale.sock"
wait_for_socket "$XDG_RUNTIME_DIR/live.sock"
kill -KILL "$BG"
wait "$BG" 2>/dev/null
[ -S "$XDG_RUNTIME_DIR/stale.sock" ] || fail "a killed serve left no socket file"
run orph 0 stat --orphans -J
jq -e --argjson s "$(obj orphan-shm)" --argjson v "$(obj orphan-sysv)" \
	--argjson h "$(obj shm)" --arg stale "$XDG_RUNTIME_DIR/stale.sock" \
	--arg live "$XDG_RUNTIME_DIR/live.sock" '
	any(.orphans[]; .type == "shm" and .id == $s.id and .name == $s.name and .size == 1000
		and .perms == "0600") and
	any(.orphans[]; .type == "sysv" and .id == $v.id and .size == 1000) and
	any(.orphans[]; .type == "socket" and .name == $stale) and
	(any(.orphans[]; .name == $live or .id == $h.id) | not)' "$T/orph.out" >/dev/null ||
	fail "--orphans: $(jq -c .orphans "$T/orph.out")"
run orpht 0 stat --orphans
has orpht out "^socket +[0-9]+ +$XDG_RUNTIME_DIR/stale.sock +$(id -un) +0700$"
pass "--orphans: unheld shm and SysV, a stale socket file; not the live ones"

# 8. --sockets, and the Done-when stream: serve --frames + connect, seen by stat and lsfd
bg d_serve serve --frames 100000 -s "$T/d.sock"
SERVE=$BG
bg d_conn connect --verify -s "$T/d.sock"
CONN=$BG
# until connect holds and maps all four buffers (its stdout is a file: no early lines)
for _ in $(seq 1 200); do
	[ "$(find "/proc/$CONN/fd" -lname '/memfd:fdx:*' 2>/dev/null | wc -l)" -eq 4 ] &&
		[ "$(grep -c ' /memfd:fdx:' "/proc/$CONN/maps" 2>/dev/null)" -ge 4 ] && break
	sleep 0.05
done
run sock 0 stat --sockets -J
jq -e --argjson S "$SERVE" --argjson C "$CONN" --arg p "$T/d.sock" \
	--argjson L "$LIVE" --arg live "$XDG_RUNTIME_DIR/live.sock" '
	(.sockets[] | select(.path == $p) | .lock and .listeners == [{pid: $S, comm: "fdx"}]
		and .connections == 1 and .peers == [{pid: $C, comm: "fdx"}]) and
	(.sockets[] | select(.path == $live) | .listeners[0].pid == $L and .connections == 0
		and .peers == [])' "$T/sock.out" >/dev/null ||
	fail "--sockets: $(jq -c .sockets "$T/sock.out")"
run sockt 0 stat --sockets
has sockt out '^PATH +LISTENERS +CONNECTIONS +PEERS$'
has sockt out "^$T/d.sock +$SERVE fdx +1 +$CONN fdx$"
run stream 0 stat -J -t memfd -p "$SERVE" -o +SESSION,INDEX,SEED
# exec: kernels from 6.3 on seal memfds made with MFD_NOEXEC_SEAL against exec
exec_seal=$(awk -F. '{ print ($1 > 6 || ($1 == 6 && $2 >= 3)) ? "yes" : "no" }' \
	<<<"$(uname -r)")
jq -e --argjson S "$SERVE" --argjson C "$CONN" --arg x "$exec_seal" '
	[.buffers[] | select(.creator == $S)] | length == 4 and
	([.[].index] | sort) == [0, 1, 2, 3] and all(.[];
		.size == 3110400 and .session == 1 and .seed == 1 and
		.seals == (["shrink", "grow", "seal"] + (if $x == "yes" then ["exec"] else [] end))
		and [.holders[].pid] == ([$S, $C] | sort) and [.maps[].pid] == ([$S, $C] | sort)
		and (.name | startswith("fdx:\($S):1:")))' "$T/stream.out" >/dev/null ||
	fail "serve/connect buffers: $(jq -c '.buffers' "$T/stream.out")"
pass "a live stream: both processes hold and map every buffer, sealed, serve the creator"
pass "--sockets: the endpoint, its listener, its connection and the peer"

# memfd inode, size and fds agree with lsfd for the stream and the fixture
run lsm 0 stat -J -t memfd -p "$SERVE,$CONN,$P,$C"
lsfd -J -p "$SERVE $CONN $P $C" -o PID,FD,INODE,SIZE,NAME >"$T/lsfd.json" ||
	fail "lsfd failed"
jq -c '[.lsfd[] | select(.fd != null and (.name | startswith("/memfd:")))
	| {pid, fd, inode, size}] | sort' "$T/lsfd.json" >"$T/lsfd.set"
jq -c --argjson pids "[$SERVE,$CONN,$P,$C]" '[.buffers[] | . as $b | .holders[]
	| select(.pid as $p | $pids | index($p)) | .pid as $p | .fds[]
	| {pid: $p, fd: ., inode: $b.id, size: $b.size}] | sort' "$T/lsm.out" >"$T/stat.set"
[ "$(jq length "$T/lsfd.set")" -ge 10 ] || fail "lsfd saw too few memfds: $(cat "$T/lsfd.set")"
cmp -s "$T/lsfd.set" "$T/stat.set" ||
	fail "stat and lsfd disagree: lsfd $(cat "$T/lsfd.set") stat $(cat "$T/stat.set")"
pass "memfd inodes, sizes and fds agree with lsfd -J ($(jq length "$T/lsfd.set") fds)"

kill "$CONN"
wait "$CONN" 2>/dev/null
reap d_serve "$SERVE" 3
kill "$LIVE"
wait "$LIVE" 2>/dev/null

# 9. processes coming and going while stat runs: never an error, never a hang
(
	end=$((SECONDS + 2))
	while [ $SECONDS -lt $end ]; do
		: | "$MKFDS" memfd churn 4096 >/dev/null
	done
) &
churn=$!
for i in $(seq 1 8); do
	run "churn$i" 0 stat -J
	jq -e '.exit == 0' "$T/churn$i.out" >/dev/null || fail "stat during churn"
done
wait "$churn"
pass "stat while processes come and go"

# 10. as nobody: root's processes are skipped and counted, nobody's own are seen
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	nb=$T/nobody
	mkdir "$nb"
	cp "$FDX" "$FDCHECK" "$MKFDS" "$nb/"
	chmod 755 "$T" "$nb" "$nb"/*
	nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	# not through a function: $! must be mkfds itself (setpriv execs it) to kill it
	"${nobody[@]}" "$nb/mkfds" memfd nobody-buf 8192 >"$T/nbmk.json" 2>"$T/nbmk.err" &
	NBMK=$!
	BG_PIDS+=("$NBMK")
	for _ in $(seq 1 100); do
		json_line "$T/nbmk.json" && break
		sleep 0.05
	done
	json_line "$T/nbmk.json" || fail "mkfds as nobody: $(cat "$T/nbmk.err")"
	"${nobody[@]}" env LD_PRELOAD="$nb/libfdcheck.so" "$nb/fdx" stat -J -o +SEALS \
		>"$T/nb.out" 2>"$T/nb.err"
	rc=$?
	[ $rc -eq 0 ] || fail "stat as nobody exited $rc: $(cat "$T/nb.err")"
	jq -e --argjson m "$(cat "$T/nbmk.json")" --argjson s "$(obj sealed)" '
		.skipped.denied > 0 and
		any(.buffers[]; .id == $m.id and .type == "memfd" and .size == 8192
			and .holders == [{pid: $m.pid, comm: "mkfds", fds: [$m.fd]}]
			and .maps == [{pid: $m.pid, comm: "mkfds"}] and .seals == []
			and .owner == "nobody") and
		(any(.buffers[]; .type == "memfd" and .id == $s.id) | not)' "$T/nb.out" \
		>/dev/null || fail "stat as nobody: $(jq -c '{skipped, n: (.buffers | length)}' \
		"$T/nb.out")"
	"${nobody[@]}" env LD_PRELOAD="$nb/libfdcheck.so" "$nb/fdx" stat >"$T/nbt.out" \
		2>"$T/nbt.err" ||
		fail "stat as nobody (text) failed: $(cat "$T/nbt.err")"
	has nbt err '^fdx stat: [0-9]+ process(es)? skipped: [0-9]+ permission denied'
	kill "$NBMK"
	wait "$NBMK"
	[ ! -e "/proc/$NBMK" ] || fail "the fixture run as nobody is still there"
	pass "as nobody: root's processes skipped and counted, exit 0, nobody's buffer seen"
else
	echo "skip: the unprivileged run needs root and setpriv"
fi

# 11. a write error on stdout fails the command
fdx stat >/dev/full 2>"$T/full.err"
rc=$?
[ $rc -eq 4 ] || fail "stat > /dev/full exited $rc"
grep -q '^fdx stat: write error on standard output: No space left on device$' "$T/full.err" ||
	fail "stat > /dev/full: $(cat "$T/full.err")"
fdx stat -J >/dev/full 2>"$T/full.err"
[ $? -eq 4 ] || fail "stat -J > /dev/full did not fail"
fdx stat --summary >/dev/full 2>/dev/null
[ $? -eq 4 ] || fail "stat --summary > /dev/full did not fail"
pass "> /dev/full: exit 4 with a write error"

# 12. usage errors: one line, a pointer to --help, exit 2
usage_error --type bogus "--type: unknown type 'bogus' \\(known: memfd, shm, dmabuf, sysv, file\\)$"
usage_error -t memfd,,shm "--type: unknown type ''"
usage_error --pid abc "--pid: 'abc' is not a process ID$"
usage_error --pid 0 "--pid: '0' is not a process ID$"
usage_error -p -5 "--pid: '-5' is not a process ID$"
usage_error -p 1,x "--pid: 'x' is not a process ID$"
usage_error -p 99999999999 "--pid: '99999999999' is not a process ID$"
usage_error -o ID,NOPE "--output: unknown column 'NOPE' \\(see --list-columns\\)$"
usage_error -o '' "--output: unknown column ''"
usage_error --summary --sockets "--list-columns, --summary, --sockets and --orphans exclude each other$"
usage_error -J -r "--json excludes --raw and --noheadings$"
usage_error --sockets -p 1 "--sockets takes no --pid or --type$"
usage_error --orphans -t shm "--orphans takes no --pid or --type$"
usage_error --summary -o ID "--output is for the list of buffers only$"
usage_error --bogus "--bogus: unknown option$"
usage_error stray "unexpected argument 'stray'$"
run h 0 stat --help
has h out '^Usage: fdx stat \[OPTIONS\]'
run h2 0 help stat
cmp -s "$T/h.out" "$T/h2.out" || fail "'fdx help stat' differs from 'stat --help'"
run v 0 stat --version
has v out '^fdx stat [0-9.]+$'
pass "usage errors"

# 13. the fixture leaves nothing behind
kill "$MK"
wait "$MK"
for key in shm orphan-shm; do
	[ ! -e "$(obj "$key" | jq -r .name)" ] || fail "$key left in /dev/shm"
done
for key in sysv orphan-sysv; do
	id=$(obj "$key" | jq .id)
	awk -v id="$id" 'NR > 1 && $2 == id { exit 1 }' /proc/sysvipc/shm ||
		fail "SysV segment $id left behind"
done
pass "fixture cleaned up"
