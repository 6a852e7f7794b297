#!/bin/bash
# tests/usage-errors.sh - dispatch, --help/--version, `fdx help`, fdx-CMD names, and every
# kind of bad option or argument: one clear line, exit 2, nothing started
. "${TOP_SRCDIR:-.}/tests/lib.sh"

run top_help 0 --help
has top_help out '^Usage: fdx '
has top_help out '^  serve '
has top_help out '^  connect '
has top_help out '^  stat '
run top_version 0 --version
has top_version out '^fdx [0-9]+\.[0-9]+\.[0-9]+$'
run noargs 2
has noargs err '^Usage: fdx'
run nocmd 2 frobnicate
has nocmd err "^fdx: 'frobnicate' is not a command"
run prefix 2 ser
has prefix err "'ser' is not a command"
pass "top level: help, version, unknown and prefix commands"

for cmd in serve connect send-image; do
	run "h_$cmd" 0 "$cmd" --help
	has "h_$cmd" out "^Usage: fdx $cmd \\[OPTIONS\\]"
	has "h_$cmd" out -- '--socket=PATH'
	has "h_$cmd" out -- '--version'
	run "v_$cmd" 0 "$cmd" --version
	has "v_$cmd" out "^fdx $cmd [0-9.]+$"
	run "u_$cmd" 0 "$cmd" --usage
	run "help_$cmd" 0 help "$cmd"
	cmp -s "$T/h_$cmd.out" "$T/help_$cmd.out" || fail "'fdx help $cmd' differs from '$cmd --help'"
	run "bad_$cmd" 2 "$cmd" --no-such-option
	has "bad_$cmd" err "^fdx $cmd: --no-such-option: unknown option$"
	has "bad_$cmd" err "^Try 'fdx $cmd --help' for more information.$"
	# send-image takes FILE arguments; the others none
	if [ "$cmd" != send-image ]; then
		run "arg_$cmd" 2 "$cmd" stray
		has "arg_$cmd" err "^fdx $cmd: unexpected argument 'stray'$"
	fi
	run "missing_$cmd" 2 "$cmd" --socket
	has "missing_$cmd" err 'missing argument'
done
run help_bad 2 help frobnicate
has help_bad err "no such command 'frobnicate'"
pass "per command: --help, --version, --usage, help CMD, bad options"

# numbers: each bad value names the option and the value, exit 2, no server started
while read -r opt val msg; do
	run badnum 2 serve "$opt" "$val"
	has badnum err "^fdx serve: $opt: '$val' $msg"
	[ ! -e "$XDG_RUNTIME_DIR/fdx.sock" ] || fail "serve $opt $val left a socket"
done <<'LIST'
--count 0 is out of range
--count 65537 is out of range
--count -1 is not a number
--count abc is not a number
--count 4x is not a number
--size 0 is out of range
--size 1Q is not a size or number
--size 99999999999G is out of range
--size 18446744073709551616 is out of range
--seed 18446744073709551616 is out of range
--seed -5 is not a number
--clients -1 is not a number
LIST
run inj 2 serve --inject bogus
has inj err "unknown kind 'bogus' \\(known: flip:OFFSET, stale, torn\\)"
run inj2 2 serve --inject flip:
has inj2 err "flip: '' is not a number"
run inj3 2 serve --inject flip:3110400
has inj3 err 'offset is beyond the buffer'
run wait1 2 connect --wait -1
has wait1 err "^fdx connect: --wait: '-1' is not a number of seconds"
run wait2 2 connect --wait soon
pass "bad numbers"

# image options: one line naming the rule, exit 2, no server started
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run badimg 2 serve $args
	has badimg err "$msg"
	[ ! -e "$XDG_RUNTIME_DIR/fdx.sock" ] || fail "serve $args left a socket"
done <<'LIST'
--format nv13|^fdx serve: --format: unknown format 'nv13' \(known: raw, u8, u16, rgb24, rgbx, nv12, nv21, yuyv, uyvy, i420\)$
--format nv12,,rgb24|^fdx serve: --format: an empty entry in the list$
--format nv12,|^fdx serve: --format: an empty entry in the list$
--format=|^fdx serve: --format: no format given$
--width 1919|^fdx serve: nv12 needs an even width, got 1919$
--format i420 --height 7|^fdx serve: i420 needs an even height, got 7$
--format yuyv --width 3|^fdx serve: yuyv needs an even width, got 3$
--width 0|^fdx serve: --width: '0' is out of range
--height 4294967296|^fdx serve: --height: '4294967296' is out of range
--align 48|^fdx serve: --align: 48 is not a power of two$
--align 8192|^fdx serve: --align: '8192' is out of range \(1 to 4096\)$
--format rgbx --width 4294967295 --height 4294967295|^fdx serve: a 4294967295x4294967295 rgbx image is too large$
--format nv12 --size 4K|^fdx serve: --size is for raw objects; an image's size follows from --format, --width and --height$
--size 4K --width 64|^fdx serve: --width is for image formats; the objects are raw
--format raw --fd-per-plane|^fdx serve: --fd-per-plane is for image formats
--inject flip:4608 --format u8 --width 64 --height 72|^fdx serve: --inject flip:4608: offset is beyond the buffer \(buffer 0 has 4608 bytes\)$
LIST
run fhelp 0 serve --format help
[ "$(wc -l <"$T/fhelp.out")" -eq 10 ] || fail "--format help lists $(wc -l <"$T/fhelp.out") formats"
has fhelp out '^nv12 +4:2:0, Y plane \+ interleaved UV plane$'
has fhelp out '^u8 +gray8 +8-bit gray$'
pass "image options"

# transports: one of two names, from the option or the environment; the other kind of
# server is named to the client
run tr1 2 serve --transport tcp
has tr1 err "^fdx serve: --transport: 'tcp' is not seqpacket or stream$"
FDX_TRANSPORT=udp fdx connect >"$T/tr2.out" 2>"$T/tr2.err"
[ $? -eq 2 ] || fail "FDX_TRANSPORT=udp: not a usage error"
has tr2 err "^fdx connect: FDX_TRANSPORT: 'udp' is not seqpacket or stream$"
run tr3 2 serve --transport stream --copy --frames 5
has tr3 err "^fdx serve: --copy sends DATA records, which need --transport seqpacket$"
bg trs serve --transport stream -q
wait_for_socket "$XDG_RUNTIME_DIR/fdx.sock"
run tr4 3 connect --wait 0
has tr4 err "the server there does not speak seqpacket \\(try --transport stream\\)$"
FDX_TRANSPORT=stream fdx connect --verify -q || fail "FDX_TRANSPORT=stream connect"
reap trs "$BG" 0
pass "transports: names, environment, mismatch"

# resources refused up front, before any socket exists
run huge 4 serve --count 16 --size 64G
has huge err 'need more memory than'
[ ! -e "$XDG_RUNTIME_DIR/fdx.sock" ] || fail "a refused serve left a socket"
(ulimit -n 64; fdx serve --count 100 >"$T/nofile.out" 2>"$T/nofile.err"; echo $? >"$T/nofile.rc")
[ "$(cat "$T/nofile.rc")" = 4 ] || fail "serve over the fd limit exited $(cat "$T/nofile.rc")"
has nofile err '--count 100 needs 132 file descriptors, the limit is 64'
pass "resources checked up front"

# suffixes
bg serve serve --size 2K --count 1 -q
run conn 0 connect --json --verify
reap serve "$BG" 0
grep -q '"size":2048' "$T/conn.out" || fail "--size 2K is not 2048 bytes"
pass "--size suffixes"

# argv[0] dispatch: a link named fdx-serve runs serve
ln -s "$FDX" "$T/fdx-serve"
ln -s "$FDX" "$T/fdx-connect"
LD_PRELOAD=$FDCHECK "$T/fdx-serve" --help >"$T/link.out" 2>&1 || fail "fdx-serve --help failed"
has link out '^Usage: fdx-serve \[OPTIONS\]'
LD_PRELOAD=$FDCHECK "$T/fdx-serve" -q --count 1 &
p=$!
LD_PRELOAD=$FDCHECK "$T/fdx-connect" -q --verify || fail "fdx-connect failed"
wait "$p" || fail "fdx-serve failed"
LD_PRELOAD=$FDCHECK "$T/fdx-serve" --bogus 2>"$T/link.err"
[ $? -eq 2 ] || fail "fdx-serve --bogus should exit 2"
has link err "^fdx-serve: --bogus: unknown option"
pass "fdx-serve / fdx-connect links"
