#!/bin/bash
# tests/help-matches-man.sh - every option in a command's --help is in its man page, and
# every option the man page documents exists in --help
. "${TOP_SRCDIR:-.}/tests/lib.sh"
man=${TOP_SRCDIR:-.}/man

# every command of the table: the lines under "Commands:" in fdx --help
cmds=$("$FDX" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
[ -n "$cmds" ] || fail "fdx --help lists no commands"
for cmd in $cmds; do
	page=$man/fdx-$cmd.1
	[ -f "$page" ] || fail "no man page $page"
	"$FDX" "$cmd" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u >"$T/help.opts"
	# options the page documents: the tag lines (after .TP) of its OPTIONS section
	awk '/^\.SH/ { in_opts = ($0 ~ /OPTIONS/) } in_opts && tag { print; tag = 0 }
		in_opts && /^\.TP/ { tag = 1 }' "$page" | sed 's/\\-/-/g; s/\\f[BIRP]//g' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u >"$T/man.opts"
	missing=$(comm -23 "$T/help.opts" "$T/man.opts")
	[ -z "$missing" ] || fail "fdx-$cmd.1 does not document: $missing"
	extra=$(comm -13 "$T/help.opts" "$T/man.opts")
	[ -z "$extra" ] || fail "fdx-$cmd.1 documents options --help does not know: $extra"
	pass "fdx-$cmd.1 matches 'fdx $cmd --help'"
done
