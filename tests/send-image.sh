#!/bin/bash
# tests/send-image.sh - fdx send-image into fdx serve --receive (and the reverse roles'
# refusals): pictures converted, checksummed, verified, dumped so they can be looked at
# and compared with the original; raw pixels; synthetic images; every bad input
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${PNMTOOL:?PNMTOOL must point at tests/pnmtool}"
sock=$T/r.sock
"$PNMTOOL" bars 64 48 "$T/bars.ppm" || fail "pnmtool bars"
"$PNMTOOL" gray 40 30 255 "$T/gray8.pgm" || fail "pnmtool gray 8"
"$PNMTOOL" gray 40 30 65535 "$T/gray16.pgm" || fail "pnmtool gray 16"

# receive NAME ARGS...: serve --receive in the background on $sock, dumping into $T/NAME
receive() {
	local name=$1
	shift
	rm -rf "${T:?}/$name"
	bg "srv_$name" serve --receive -s "$sock" --verify --dump "$T/$name" "$@"
}

# 1. the issue's own promise: a PPM sent as NV12 arrives verified, and its dump looks
# like the picture (BT.601 there and back: within a few levels)
receive d1 --json
run send1 0 send-image -s "$sock" "$T/bars.ppm" --format NV12
reap srv_d1 "$BG" 0
has send1 out '^object 0: .*/bars.ppm, 64x48 nv12, 4608 bytes, memfd, xxh3:[0-9a-f]{16}: ok$'
has send1 out '^sent 1 objects, 4608 bytes in .* ms: 1 ok$'
[ -f "$T/d1/c1-object-0000.ppm" ] || fail "no dump in $T/d1: $(ls "$T/d1")"
"$PNMTOOL" diff "$T/bars.ppm" "$T/d1/c1-object-0000.ppm" 3 >"$T/diff.out" ||
	fail "the NV12 dump differs from the picture: $(cat "$T/diff.out")"
jq -e '.exit == 0 and .receive == true and .clients[0].name == "fdx-send-image"
	and .clients[0].total.ok == 1 and .clients[0].objects[0].content == "checksum"
	and .clients[0].objects[0].format == "nv12" and .clients[0].objects[0].width == 64
	and (.clients[0].objects[0].planes | length) == 2
	and .clients[0].objects[0].checksum == .clients[0].objects[0].computed_checksum
	and .clients[0].dumps.written == 1 and .clients[0].dumps.failed == 0' \
	"$T/srv_d1.out" >/dev/null || fail "serve --receive JSON: $(jq -c '.clients[0]' "$T/srv_d1.out")"
pass "a PPM as NV12: verified by checksum, dumped, looks like the picture"

# 2. lossless formats come back byte for byte: RGB24 (the PPM itself), U8, U16 16-bit
for pic in bars.ppm gray8.pgm gray16.pgm; do
	receive d2
	run send2 0 send-image -s "$sock" "$T/$pic"
	reap srv_d2 "$BG" 0
	dump=$(ls "$T"/d2/c1-object-0000.p?m)
	cmp -s "$T/$pic" "$dump" || fail "$pic: the dump is not the picture"
done
has send2 out '^object 0: .*gray16.pgm, 40x30 u16, 2400 bytes'
# --align and --fd-per-plane change the layout, not the picture's format
receive d2
run send2 0 send-image -s "$sock" "$T/bars.ppm" --align 128 --fd-per-plane
reap srv_d2 "$BG" 0
has send2 out '^object 0: .*bars.ppm, 64x48 rgb24, 12288 bytes'
cmp -s "$T/bars.ppm" "$T/d2/c1-object-0000.ppm" || fail "padded rgb24: the dump is not the picture"
pass "rgb24, u8 and u16 round trips are exact, padded or not"

# 3. every format, padded rows and an fd per plane: all verified by the consumer
for f in u8 gray16 rgb24 rgbx nv12 nv21 yuyv uyvy i420; do
	receive d3
	run send3 0 send-image -s "$sock" "$T/bars.ppm" --format "$f" --align 64 --fd-per-plane
	reap srv_d3 "$BG" 0
	has srv_d3 out ': received 1 objects, [0-9]+ bytes: 1 ok$'
	# fdx writes the header as three lines: magic, size, maxval
	[ "$(head -n 2 "$T"/d3/c1-object-0000.p?m | tail -n 1)" = "64 48" ] ||
		fail "$f: the dump is not a 64x48 picture"
done
pass "all nine formats, padded, one fd per plane"

# 4. several pictures, and several in one file: one object each, formats taken in turn
cat "$T/bars.ppm" "$T/bars.ppm" >"$T/two.ppm"
receive d4
run send4 0 send-image -s "$sock" "$T/two.ppm" "$T/gray8.pgm" --format i420,rgb24 --json
reap srv_d4 "$BG" 0
jq -e '.exit == 0 and .sent == 3 and .ok == 3
	and [.objects[].format] == ["i420", "rgb24", "i420"]
	and [.objects[].image] == [1, 2, 1]' "$T/send4.out" >/dev/null ||
	fail "three pictures: $(jq -c . "$T/send4.out")"
[ "$(find "$T/d4" -name 'c1-object-*' | wc -l)" -eq 3 ] || fail "expected 3 dumps"
pass "two images in one file and a third: three objects"

# 5. raw pixels: the same NV12 bytes sent raw give the same picture as the PPM did
"$PNMTOOL" raw nv12 "$T/bars.ppm" "$T/bars.nv12" || fail "pnmtool raw"
receive d5
run send5 0 send-image -s "$sock" "$T/bars.nv12" --format nv12 --width 64 --height 48 --align 32
reap srv_d5 "$BG" 0
cmp -s "$T/d1/c1-object-0000.ppm" "$T/d5/c1-object-0000.ppm" ||
	fail "raw NV12 and the PPM sent as NV12 do not give the same picture"
pass "raw NV12 pixels arrive as the same picture"

# 6. synthetic pattern images, to connect's sibling: verified by pattern, not checksum
receive d6 --json
run send6 0 send-image -s "$sock" --count 3 --format rgbx,nv12 --width 320 --height 240 --seed 0x77
reap srv_d6 "$BG" 0
has send6 out '^object 2: synthetic, seed 119, 320x240 rgbx, 307200 bytes, memfd: ok$'
jq -e '.clients[0].total.ok == 3 and [.clients[0].objects[].content] == ["pattern", "pattern", "pattern"]
	and [.clients[0].objects[].seed] == [119, 119, 119]' "$T/srv_d6.out" >/dev/null ||
	fail "synthetic: $(jq -c '.clients[0].objects' "$T/srv_d6.out")"
pass "synthetic images carry the pattern"

# 7. serve --receive takes client after client; dumps do not overwrite each other
rm -rf "$T/d7"
bg srv7 serve --receive -s "$sock" --clients 2 --dump "$T/d7"
run send7a 0 send-image -s "$sock" "$T/gray8.pgm"
run send7b 0 send-image -s "$sock" "$T/bars.ppm"
reap srv7 "$BG" 0
[ -f "$T/d7/c1-object-0000.pgm" ] && [ -f "$T/d7/c2-object-0000.ppm" ] ||
	fail "per-client dumps: $(ls "$T/d7")"
has srv7 out '^client 2 \(pid [0-9]+, fdx-send-image\): received 1 objects, 9216 bytes: 0 ok, 1 unchecked$'
pass "two clients in turn, their dumps apart; without --verify objects are unchecked"

# 8. bad input: message, exit status, nothing sent, no socket needed
printf 'P6\n4 4\n255\nshort' >"$T/trunc.ppm"
"$PNMTOOL" bars 63 48 "$T/odd.ppm" || fail "pnmtool bars odd"
head -c 100 /dev/zero >"$T/100.raw"
while IFS='|' read -r st args msg; do
	# shellcheck disable=SC2086
	run bad "$st" send-image -s "$sock" --wait 0 $args
	has bad err "$msg"
done <<LIST
4|$T/missing.ppm|^fdx send-image: cannot read '$T/missing.ppm': No such file or directory$
4|$T|^fdx send-image: cannot read '$T': Is a directory$
2|$T/trunc.ppm|^fdx send-image: '$T/trunc.ppm': truncated: 5 of 48 pixel bytes$
2|$T/odd.ppm --format nv12|^fdx send-image: '$T/odd.ppm': nv12 needs an even width, got 63$
2|$T/bars.ppm --width 32 --height 48|is 64x48: --width and --height are for raw pixels
2|$T/100.raw|^fdx send-image: '$T/100.raw' is not a PNM image: to send raw pixels give --format
2|$T/100.raw --width 8 --height 8|^fdx send-image: '$T/100.raw' is not a PNM image: to send raw pixels give --format
2|$T/100.raw --format nv12 --width 8 --height 8|^fdx send-image: '$T/100.raw' has 100 bytes; a 8x8 nv12 image has 96$
2|$T/bars.ppm --raw --format u8 --width 8 --height 8|'$T/bars.ppm' has 9229 bytes; a 8x8 u8 image has 64$
2|$T/bars.ppm --count 2|^fdx send-image: --count is for synthetic images
2|--raw|^fdx send-image: --raw says how to read FILE; no FILE was given$
2|--width 64|^fdx send-image: --width needs --height$
2|--format raw|^fdx send-image: --format raw: send-image sends images
2|--format bogus|^fdx send-image: --format: unknown format 'bogus' \\(known: raw, u8, u16
2|--align 3|^fdx send-image: --align: 3 is not a power of two$
5||^fdx send-image: cannot connect to '$sock': No such file or directory \\(waited 0 s\\)$
LIST
pass "bad pictures and options refused with the documented status"

# 9. the roles must differ: send-image to a producer is refused on both sides
bg srv9 serve -s "$sock"
run send9 3 send-image -s "$sock" "$T/gray8.pgm"
reap srv9 "$BG" 3
has send9 err 'peer is a producer too; one side must be the consumer$'
pass "send-image to a producer: protocol error, exit 3"

# 10. serve --receive refuses the producer's options, and serve the consumer's
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run bad 2 serve -s "$sock" $args
	has bad err "$msg"
	[ ! -e "$sock" ] || fail "serve $args left a socket"
done <<LIST
--receive --count 3|^fdx serve: --count is for sending; with --receive the clients decide
--receive --format nv12|^fdx serve: --format is for sending
--receive --frames 10|^fdx serve: --frames is for sending
--verify|^fdx serve: --verify is for --receive
--dump $T/x|^fdx serve: --dump is for --receive
--receive --dump-every 2|^fdx serve: --dump-every needs --dump DIR$
--receive --dump $T/bars.ppm|^fdx serve: --dump: cannot write into '$T/bars.ppm': Not a directory$
--receive --dump $T/no/such/dir|^fdx serve: --dump: cannot write into '$T/no/such/dir': No such file
LIST
pass "serve --receive and serve keep their options apart"

# 11. a dump that cannot be written: said, nothing half-written left, exit 4 (the
# directory is swapped for a file once serve has checked it: fails for root too)
bg srv11 serve --receive -s "$sock" --dump "$T/d11"
wait_for_socket "$sock"
rmdir "$T/d11" && : >"$T/d11"
run send11 0 send-image -s "$sock" "$T/gray8.pgm"
reap srv11 "$BG" 4
has srv11 err "^fdx serve: cannot dump c1-object-0000 to '$T/d11/c1-object-0000.pgm': Not a directory$"
has srv11 out ': received 1 objects, 1200 bytes: 0 ok, 1 unchecked \(failed\)$'
pass "a dump that fails: reported, exit 4"
