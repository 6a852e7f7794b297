#!/bin/bash
# tests/transport-stream.sh - the end-to-end tests again, every fdx speaking SOCK_STREAM
# (FDX_TRANSPORT=stream): same results, fds framed by length and taken per message.
# Parts that need SEQPACKET itself (raw SEQPACKET peers, --copy's DATA records) say so
# and are left out of this run.
. "${TOP_SRCDIR:-.}/tests/lib.sh"

for t in serve-connect serve-connect-options stream send-image verify concurrent; do
	echo "== $t.sh over stream"
	FDX_TRANSPORT=stream bash "${TOP_SRCDIR:-.}/tests/$t.sh" >"$T/$t.log" 2>&1 ||
		{ cat "$T/$t.log"; fail "$t.sh fails over the stream transport"; }
	grep -E '^(ok|skip)' "$T/$t.log"
done
pass "the end-to-end tests pass over SOCK_STREAM"
