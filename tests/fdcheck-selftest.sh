#!/bin/bash
# fdcheck-selftest.sh - the fdcheck shim passes clean programs and fails leaking ones
set -u

fail() {
	echo "fdcheck-selftest: FAIL: $*" >&2
	exit 1
}

[[ -n ${FDCHECK:-} && -f $FDCHECK ]] || fail "FDCHECK must name the built libfdcheck.so"
[[ -n ${FD_LEAKER:-} && -x $FD_LEAKER ]] || fail "FD_LEAKER must name the built fd-leaker"

tmp=$(mktemp -d /tmp/fdcheck-selftest.XXXXXX) || fail "cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT

# run NAME CMD...: run CMD with stdout and stderr kept in $tmp/NAME.out and .err; sets rc
rc=0
run() {
	local name=$1
	shift
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}

# the leaker alone exits 0: a 99 below can only come from the shim
run plain "$FD_LEAKER" leak
[[ $rc -eq 0 ]] || fail "fd-leaker leak without the shim exited $rc"
run usage "$FD_LEAKER"
[[ $rc -eq 2 ]] || fail "fd-leaker without an argument exited $rc, expected 2"

# a clean program: its status and silence are kept
run clean env LD_PRELOAD="$FDCHECK" "$FD_LEAKER" clean
[[ $rc -eq 0 ]] || fail "clean run exited $rc: $(cat "$tmp/clean.err")"
[[ ! -s $tmp/clean.out && ! -s $tmp/clean.err ]] ||
	fail "clean run printed: $(cat "$tmp/clean.out" "$tmp/clean.err")"

# a leaking program: exit 99 and one line naming the file
run leak env LD_PRELOAD="$FDCHECK" "$FD_LEAKER" leak
[[ $rc -eq 99 ]] || fail "leaking run exited $rc, expected 99"
grep -Eq '^fdcheck: pid [0-9]+ leaked fd [0-9]+ \(/dev/null\)$' "$tmp/leak.err" ||
	fail "leaking run did not name /dev/null: $(cat "$tmp/leak.err")"
[[ $(wc -l <"$tmp/leak.err") -eq 1 ]] ||
	fail "leaking run reported: $(cat "$tmp/leak.err")"

# fds open at the start are not leaks, wherever they are in the table
run inherited env LD_PRELOAD="$FDCHECK" "$FD_LEAKER" clean 7</dev/null 1000</dev/null
[[ $rc -eq 0 && ! -s $tmp/inherited.err ]] ||
	fail "inherited fds counted as leaks (exit $rc): $(cat "$tmp/inherited.err")"
run inherited-leak env LD_PRELOAD="$FDCHECK" "$FD_LEAKER" leak 7</dev/null 1000</dev/null
[[ $rc -eq 99 ]] || fail "a leak next to inherited fds exited $rc, expected 99"
grep -Eq 'leaked fd (7|1000) ' "$tmp/inherited-leak.err" &&
	fail "inherited fd reported: $(cat "$tmp/inherited-leak.err")"

# and closing one of them is fine
run closed env LD_PRELOAD="$FDCHECK" bash -c 'exec 7<&-; exit 0' 7</dev/null
[[ $rc -eq 0 && ! -s $tmp/closed.err ]] ||
	fail "closing an inherited fd was reported (exit $rc): $(cat "$tmp/closed.err")"

# the program's own exit status passes through when nothing leaked
run status env LD_PRELOAD="$FDCHECK" bash -c 'exit 3'
[[ $rc -eq 3 ]] || fail "exit status 3 came back as $rc"

# the report names the process, the fd number and what it points at; what the
# program wrote before is kept
: >"$tmp/target"
run named env LD_PRELOAD="$FDCHECK" bash -c "echo \$\$; exec 9<>'$tmp/target'; exit 0"
[[ $rc -eq 99 ]] || fail "bash leaking fd 9 exited $rc, expected 99"
pid=$(cat "$tmp/named.out")
[[ $pid =~ ^[0-9]+$ ]] || fail "the leaking program's output was lost: '$pid'"
grep -Fqx "fdcheck: pid $pid leaked fd 9 ($tmp/target)" "$tmp/named.err" ||
	fail "leak of fd 9 by pid $pid misreported: $(cat "$tmp/named.err")"

# high fd numbers: no fixed-size table in the shim
limit=$(ulimit -n)
if [[ $limit =~ ^[0-9]+$ && $limit -gt 10000 ]]; then
	hi=$((limit - 10))
	# the outer bash opens fd hi and hands it on; the inner one leaks hi + 1
	run high bash -c "exec $hi</dev/null; LD_PRELOAD='$FDCHECK' exec bash -c \
		'exec $((hi + 1))</dev/null; exit 0'"
	[[ $rc -eq 99 ]] || fail "leak of fd $((hi + 1)) exited $rc, expected 99"
	grep -q "leaked fd $((hi + 1)) (/dev/null)" "$tmp/high.err" ||
		fail "leak of fd $((hi + 1)) misreported: $(cat "$tmp/high.err")"
	grep -q "leaked fd $hi " "$tmp/high.err" &&
		fail "inherited fd $hi reported as a leak"
fi

exit 0
