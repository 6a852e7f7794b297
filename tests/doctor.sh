#!/bin/bash
# tests/doctor.sh - fdx doctor: its report checked item by item against what the shell can
# find out for itself (uname, ulimit, /proc, /sys, /dev, stat -f), text against JSON, -q,
# a terminal's wrapping, a run as nobody, a write error and bad options
# shellcheck disable=SC2016 # check's jq programs: the $names in them are jq's
. "${TOP_SRCDIR:-.}/tests/lib.sh"

# probe NAME [FILE]: the JSON object of probe NAME
probe() { jq -c --arg n "$1" '.probes[] | select(.name == $n)' "${2:-$T/json.out}"; }

# check EXPR ARGS...: a jq condition on the JSON report, or fail showing the report
check() {
	local expr=$1
	shift
	jq -e "$@" "$expr" "$T/json.out" >/dev/null ||
		fail "doctor --json: not ($expr): $(jq -c '.probes' "$T/json.out")"
}

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# a number, or -1 for "unlimited" as the JSON has it
limit() { if [ "$1" = unlimited ]; then echo -1; else echo "$1"; fi; }

# 1. the JSON report, taken while the huge page pool holds still (a unit test may be
# reserving pages at the same time)
pool() { echo "$(meminfo HugePages_Total) $(meminfo HugePages_Free) $(meminfo HugePages_Rsvd)"; }
stable=no
for _ in $(seq 1 20); do
	pool=$(pool)
	run json 0 doctor --json
	[ "$pool" = "$(pool)" ] && stable=yes && break
	sleep 0.2
done
[ $stable = yes ] || fail "the huge page pool kept changing during doctor --json"
read -r total free rsvd <<<"$pool"
[ -s "$T/json.err" ] && fail "doctor --json wrote on stderr: $(cat "$T/json.err")"
check '.exit == 0'
check '.kernel.release == $r and .kernel.machine == $m and .kernel.sysname == "Linux"' \
	--arg r "$(uname -r)" --arg m "$(uname -m)"
check '.probes | length >= 22 and (map(.name) | unique | length) == length'
check 'all(.probes[]; (.status | IN("ok", "missing", "denied", "limited", "error"))
	and (.found | length > 0) and (.action | length > 0)
	and (.errno == null or (.errno | type == "number"))
	and (.value == null or (.value | type == "number"))
	and (.details | type == "object"))'
check '[.probes[] | select(.status == "error")] | length == 0'
check '.summary as $s | [.probes[].status] as $st |
	all(("ok", "missing", "denied", "limited", "error");
		. as $k | $s[$k] == ([$st[] | select(. == $k)] | length))'
for name in memfd-seals seal-future-write mfd-noexec-seal vm.memfd_noexec mfd-hugetlb \
	hugepages dev-shm shm-open tmpfile:/dev/shm tmpfile:/tmp pidfd-open pidfd-getfd \
	ptrace so-peercred so-peerpidfd so-passrights dma-heap udmabuf rlimit-nofile \
	scm-max-fd seqpacket data-record; do
	[ -n "$(probe "$name")" ] || fail "no probe $name"
done
pass "JSON: every item, each with a status, what was found and what fdx will do"

# 2. item by item, against facts
check '(.probes[] | select(.name == "memfd-seals") | .status) == "ok"'
# the kernel's SCM_MAX_FD, measured
check '(.probes[] | select(.name == "scm-max-fd")) | .status == "ok" and .value == 253
	and .errno == 22'
# the limits as doctor found them when it started: it does not raise them itself
check '(.probes[] | select(.name == "rlimit-nofile")) | .details.soft == $s
	and .details.hard == $h and .value == $h' \
	--argjson s "$(limit "$(ulimit -Sn)")" --argjson h "$(limit "$(ulimit -Hn)")"
if [ -e /dev/dma_heap ]; then
	n=$(find /dev/dma_heap -mindepth 1 -maxdepth 1 | wc -l)
	check '[.probes[] | select(.name | startswith("dma-heap:"))] | length == $n' \
		--argjson n "$n"
	check '(.probes[] | select(.name == "dma-heap") | .status) != "missing" or $n == 0' \
		--argjson n "$n"
else
	check '(.probes[] | select(.name == "dma-heap")) | .status == "missing" and .errno == 2'
	check '[.probes[] | select(.name | startswith("dma-heap:"))] | length == 0'
	check '(.probes[] | select(.name == "dma-heap") | .action) ==
		"--backend dma-heap fails, naming /dev/dma_heap"'
fi
if [ -e /dev/udmabuf ]; then
	check '(.probes[] | select(.name == "udmabuf") | .status) != "missing"'
else
	check '(.probes[] | select(.name == "udmabuf")) | .status == "missing" and .errno == 2'
fi
if [ -r /sys/module/udmabuf/parameters/size_limit_mb ]; then
	check '(.probes[] | select(.name == "udmabuf")) | .details.size_limit_mb == $l' \
		--argjson l "$(cat /sys/module/udmabuf/parameters/size_limit_mb)"
fi
check '(.probes[] | select(.name == "hugepages")) | .details.total == $t
	and .details.free == $f and .details.rsvd == $r and .value == $f - $r
	and (.status == "missing") == ($f - $r == 0)
	and .details.size_kb == $k' --argjson t "$total" --argjson f "$free" \
	--argjson r "$rsvd" --argjson k "$(meminfo Hugepagesize)"
if [ $((free - rsvd)) -eq 0 ]; then
	check '(.probes[] | select(.name == "hugepages") | .action) |
		startswith("reserve some: echo N > /proc/sys/vm/nr_hugepages")'
fi
if [ -r /proc/sys/vm/memfd_noexec ]; then
	check '(.probes[] | select(.name == "vm.memfd_noexec")) | .status == "ok" and
		.value == $v' --argjson v "$(cat /proc/sys/vm/memfd_noexec)"
else
	check '(.probes[] | select(.name == "vm.memfd_noexec") | .status) == "missing"'
fi
read -r blocks bsize avail < <(stat -f -c '%b %S %a' /dev/shm)
check '(.probes[] | select(.name == "dev-shm")) | .details.size == $size
	and (.details.free - $free | fabs) < 67108864' \
	--argjson size $((blocks * bsize)) --argjson free $((avail * bsize))
check '(.probes[] | select(.name == "seqpacket")) | .details.wmem_default == $w
	and .details.rmem_default == $r' \
	--argjson w "$(cat /proc/sys/net/core/wmem_default)" \
	--argjson r "$(cat /proc/sys/net/core/rmem_default)"
yama=-1
[ -r /proc/sys/kernel/yama/ptrace_scope ] && yama=$(cat /proc/sys/kernel/yama/ptrace_scope)
check '(.probes[] | select(.name == "ptrace")) | .details.yama_scope == $y' --argjson y "$yama"
pass "JSON: limits, kernel, devices, huge pages, sysctls and /dev/shm as the shell sees them"

# a lower soft limit is reported as it is; fds still pass under it (and none leak)
(
	ulimit -Sn 64
	fdx doctor --json >"$T/low.out" 2>"$T/low.err"
	echo $? >"$T/low.rc"
)
[ "$(cat "$T/low.rc")" = 0 ] || fail "doctor with ulimit -Sn 64 exited $(cat "$T/low.rc")"
[ "$(probe rlimit-nofile "$T/low.out" | jq .details.soft)" = 64 ] ||
	fail "soft limit 64 reported as $(probe rlimit-nofile "$T/low.out")"
[ "$(probe scm-max-fd "$T/low.out" | jq .value)" = 253 ] ||
	fail "with 64 fds: $(probe scm-max-fd "$T/low.out")"
pass "ulimit -Sn 64: reported as found, and the fd measure is unchanged"

# 3. the text report says the same, one row per item
run text 0 doctor
[ "$(head -n 1 "$T/text.out")" = "$(uname -srm)" ] ||
	fail "first line '$(head -n 1 "$T/text.out")', expected '$(uname -srm)'"
has text out '^ITEM +STATUS +FOUND +FDX WILL$'
jq -r '.probes[] | "\(.name) \(.status)"' "$T/json.out" >"$T/want.rows"
awk 'NR > 3 && NF > 1 && !/^[0-9]+ items:/ { print $1, $2 }' "$T/text.out" >"$T/got.rows"
# hugepages may differ if the pool moved between the runs; everything else may not
diff <(grep -v '^hugepages ' "$T/want.rows") <(grep -v '^hugepages ' "$T/got.rows") \
	>/dev/null || fail "text and JSON disagree: $(diff "$T/want.rows" "$T/got.rows")"
has text out "^$(jq '.probes | length' "$T/json.out") items: [0-9]+ ok, [0-9]+ missing, [0-9]+ denied, [0-9]+ limited, 0 error$"
has text out '^scm-max-fd +ok +253 fds in one sendmsg went, 254 were refused \(EINVAL\) +send at most 253 fds per message'
if [ ! -e /dev/dma_heap ]; then
	has text out '^dma-heap +missing +/dev/dma_heap: not there +--backend dma-heap fails, naming /dev/dma_heap$'
fi
pass "text: the kernel, one row per item agreeing with the JSON, a summary"

# 4. -q: only what is not ok
run quiet 0 doctor -q
# hugepages again is left out: backends.sh may hold the pool's pages while this runs
problems=$(jq '[.probes[] | select(.status != "ok" and .name != "hugepages")] | length' \
	"$T/json.out")
if [ "$problems" -eq 0 ]; then
	[ "$(grep -cvE '^(ITEM|hugepages) ' "$T/quiet.out")" -eq 0 ] ||
		fail "-q printed with no problems: $(cat "$T/quiet.out")"
else
	has quiet out '^ITEM +STATUS +FOUND +FDX WILL$'
	hasnt quiet out '^[^ ]+ +ok '
	hasnt quiet out 'items:'
	[ "$(grep -cvE '^(ITEM|hugepages) ' "$T/quiet.out")" -eq "$problems" ] ||
		fail "-q: $(cat "$T/quiet.out"), expected $problems problems"
fi
run quietj 0 doctor -q --json
jq -e --argjson n "$problems" '([.probes[] | select(.name != "hugepages")] | length) == $n
	and all(.probes[]; .status != "ok")
	and .exit == 0' "$T/quietj.out" >/dev/null || fail "-q --json: $(cat "$T/quietj.out")"
pass "-q: the $problems problems only, in text and JSON"

# 5. on a terminal, long cells wrap at spaces to fit its width
if command -v script >/dev/null; then
	script -qec "stty cols 80 rows 50; LD_PRELOAD=$FDCHECK $FDX doctor" /dev/null \
		>"$T/tty.out" 2>&1 || fail "doctor on a terminal: $(cat "$T/tty.out")"
	tr -d '\r' <"$T/tty.out" >"$T/tty.txt"
	grep -q '^memfd-seals ' "$T/tty.txt" || fail "doctor on a terminal: $(cat "$T/tty.txt")"
	wide=$(awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }' "$T/tty.txt")
	[ "$wide" -le 80 ] || fail "a line of $wide columns on an 80-column terminal"
	grep -q '\\x0a' "$T/tty.txt" && fail "escaped newlines in the table"
	pass "an 80-column terminal: every line fits ($wide columns at most)"
else
	echo "skip: no script(1): the terminal layout is not tested"
fi

# 6. as another user: the ptrace items still print, nothing crashes
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	pub=$(mktemp -d /tmp/fdx-doctor-pub.XXXXXX)
	chmod 0755 "$pub"
	cp "$FDX" "$pub/fdx"
	chmod 0755 "$pub/fdx"
	(cd "$pub" && setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/fdx" doctor --json \
		>"$T/nobody.out" 2>"$T/nobody.err")
	st=$?
	(cd "$pub" && setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/fdx" doctor \
		>"$T/nobodyt.out" 2>"$T/nobodyt.err")
	stt=$?
	rm -rf "$pub"
	if [ "$st" -ne 0 ] || [ "$stt" -ne 0 ]; then
		fail "doctor as nobody exited $st, $stt"
	fi
	# Yama 0 or none lets nobody take fds of its own processes; above, only with the cap
	want=ok
	[ "$yama" -ge 1 ] && want=denied
	jq -e --arg w "$want" '(.probes[] | select(.name == "ptrace")) | .status == $w
		and .details.cap_sys_ptrace == 0' "$T/nobody.out" >/dev/null ||
		fail "ptrace as nobody: $(probe ptrace "$T/nobody.out")"
	jq -e '(.probes | length >= 22) and
		([.probes[] | select(.name | IN("pidfd-open", "pidfd-getfd", "so-peerpidfd"))]
		| length == 3) and ([.probes[] | select(.status == "error")] | length == 0)' \
		"$T/nobody.out" >/dev/null || fail "as nobody: $(jq -c .probes "$T/nobody.out")"
	has nobodyt out '^ptrace +'"$want"' +.*CAP_SYS_PTRACE no'
	has nobodyt out '^pidfd-getfd +ok '
	pass "as nobody: every item, ptrace $want without CAP_SYS_PTRACE"
else
	echo "skip: not root (or no setpriv): cannot test a second user"
fi

# 7. a write error is an error: exit 4, said on stderr
fdx doctor >/dev/full 2>"$T/full.err"
[ $? -eq 4 ] || fail "doctor > /dev/full did not exit 4"
has full err '^fdx doctor: write error on standard output: No space left on device$'
fdx doctor --json >/dev/full 2>"$T/fullj.err"
[ $? -eq 4 ] || fail "doctor --json > /dev/full did not exit 4"
pass "doctor > /dev/full: exit 4"

# 8. options
run help 0 doctor --help
has help out '^Usage: fdx doctor \[OPTIONS\]'
has help out -- '--json'
has help out -- '-q, --quiet'
run help2 0 help doctor
cmp -s "$T/help.out" "$T/help2.out" || fail "'fdx help doctor' differs from --help"
run usage 0 doctor --usage
has usage out 'Usage: fdx doctor'
run version 0 doctor --version
has version out '^fdx doctor [0-9]+\.[0-9]+\.[0-9]+$'
run bad 2 doctor --bogus
has bad err '^fdx doctor: --bogus: unknown option$'
has bad err "^Try 'fdx doctor --help' for more information.$"
[ ! -s "$T/bad.out" ] || fail "a bad option printed a report"
run stray 2 doctor now
has stray err "^fdx doctor: unexpected argument 'now'$"
run arg 2 doctor --json=yes
has arg err -- '--json'
pass "--help, --usage, --version, help doctor; bad options exit 2"
