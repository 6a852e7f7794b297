# tests/lib.sh - shared helpers for the shell tests: temp dirs, fd-checked runs, asserts
# Sourced by every tests/*.sh. Each fdx process runs with LD_PRELOAD=$FDCHECK, which
# makes it exit 99 if it ends with an fd open that it did not start with.

set -u
: "${FDX:?FDX must point at the fdx binary (make check sets it)}"
: "${FDCHECK:?FDCHECK must point at tests/libfdcheck.so (make check sets it)}"

# the transport every fdx of this run speaks (tests/transport-stream.sh sets stream)
TRANSPORT=${FDX_TRANSPORT:-seqpacket}
# seqpacket_only WHAT: true under seqpacket; under stream, say what is skipped and why
seqpacket_only() {
	[ "$TRANSPORT" = seqpacket ] && return 0
	echo "skip (stream transport): $1"
	return 1
}

T=$(mktemp -d "${TMPDIR:-/tmp}/fdx-test.XXXXXX")
# a private runtime dir: the default socket path lands in it, so tests never collide
export XDG_RUNTIME_DIR=$T/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
BG_PIDS=()

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.out "$T"/*.err; do
		[ -s "$f" ] && { echo "--- $f" >&2; head -c 4000 "$f" >&2; }
	done
	exit 1
}

pass() { echo "ok: $*"; }

fdx() { LD_PRELOAD=$FDCHECK "$FDX" "$@"; }

# run NAME EXPECTED_STATUS ARGS...: run fdx, keep stdout/stderr in $T/NAME.{out,err}
run() {
	local name=$1 want=$2 got
	shift 2
	fdx "$@" >"$T/$name.out" 2>"$T/$name.err"
	got=$?
	[ "$got" -eq "$want" ] || fail "$name: 'fdx $*' exited $got, expected $want"
}

# bg NAME ARGS...: start fdx in the background; the pid lands in $BG
bg() {
	local name=$1
	shift
	# exec, so that $! is fdx itself and signals sent to it reach it
	(LD_PRELOAD=$FDCHECK exec "$FDX" "$@") >"$T/$name.out" 2>"$T/$name.err" &
	BG=$!
	BG_PIDS+=("$BG")
}

# reap NAME PID EXPECTED_STATUS: wait for a background fdx with a deadline
reap() {
	local name=$1 pid=$2 want=$3 got _
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "$name: still running after 30 s"; }
	wait "$pid"
	got=$?
	[ "$got" -eq "$want" ] || fail "$name: exited $got, expected $want"
}

# has NAME STREAM REGEX: the output of a run matches
has() {
	grep -Eq -- "$3" "$T/$1.$2" || fail "$1: $2 does not match /$3/"
}

hasnt() {
	grep -Eq -- "$3" "$T/$1.$2" && fail "$1: $2 unexpectedly matches /$3/"
	return 0
}

# wait_for_socket PATH: until a server listens there (for tests that need it up first)
wait_for_socket() {
	local _
	for _ in $(seq 1 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	fail "no socket appeared at $1"
}
