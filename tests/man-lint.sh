#!/bin/bash
# man-lint.sh - every man page must format without warnings and have its sections
#
# Run by `make check` from the build directory with TOP_SRCDIR set to the absolute source
# directory; by hand, it finds the pages next to itself. Exit 0 when every page is clean,
# 1 when any page warned or lacks a section, 77 (skipped) when groff is not installed.

set -u

srcdir=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
mandir=$srcdir/man

if ! command -v groff >/dev/null 2>&1; then
	echo "man-lint: groff is not installed; skipping"
	exit 77
fi
# man-db is no excuse to skip: without it half of the lint would silently not run
if ! command -v man >/dev/null 2>&1; then
	echo "man-lint: man (man-db) is not installed; cannot lint the pages"
	exit 1
fi

shopt -s nullglob
pages=("$mandir"/*.[17])
if [ ${#pages[@]} -eq 0 ]; then
	echo "man-lint: no man pages found in $mandir"
	exit 1
fi

failed=0

# Print each line of $2 (warnings) prefixed with the page name $1; note a failure.
report() {
	local name=$1 text=$2 line

	[ -n "$text" ] || return 0
	while IFS= read -r line; do
		echo "$name: $line"
	done <<<"$text"
	failed=1
}

# Does page $1 have a section heading named $2 (".SH NAME" or ".SH \"EXIT STATUS\"")?
has_section() {
	grep -Eq "^\\.SH[[:space:]]+\"?$2\"?[[:space:]]*\$" "$1"
}

for page in "${pages[@]}"; do
	name=${page##*/}
	section=${name##*.}

	# groff warns about everything it finds odd; -z discards the output itself
	out=$(groff -ww -z -man -t "$page" 2>&1)
	rc=$?
	report "$name" "$out"
	[ $rc -eq 0 ] || report "$name" "groff exited with status $rc"

	# man-db as a reader's man(1) runs it, with its own preprocessing and warnings
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
	rc=$?
	report "$name" "$out"
	[ $rc -eq 0 ] || report "$name" "man exited with status $rc"

	if [ "$section" = 7 ]; then
		required=(NAME DESCRIPTION)
	else
		required=(NAME SYNOPSIS DESCRIPTION "EXIT STATUS")
	fi
	for s in "${required[@]}"; do
		has_section "$page" "$s" || report "$name" "missing section $s"
	done

	# man(1) only runs tbl when the first line asks for it; groff -t above always does,
	# so a table without the request would pass there and print as garbage for readers
	if grep -q '^\.TS' "$page" && ! head -n 1 "$page" | grep -q "^'\\\\\" .*t"; then
		report "$name" "uses tables (.TS) but its first line is not '\\\" t"
	fi

	# the title must name the page: .TH FDX-SERVE 1 for fdx-serve.1
	base=${name%.*}
	want=${base^^}
	want="${want//-/\\-} $section"
	th=$(grep -m 1 '^\.TH ' "$page" | awk '{ print $2, $3 }')
	[ "$th" = "$want" ] || report "$name" ".TH says '$th', expected '$want'"
done

if [ $failed -ne 0 ]; then
	echo "man-lint: FAILED"
	exit 1
fi
echo "man-lint: ${#pages[@]} pages clean"
exit 0
