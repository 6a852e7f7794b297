#!/bin/bash
# tests/verify.sh - fdx verify on files and on live fds of other processes: the frame a
# buffer holds, stale/torn/corrupt/truncated named, images per plane, checksums, the
# --map picture, a buffer shrunk under the reader, permissions, and every bad option
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${PNMTOOL:?PNMTOOL must point at tests/pnmtool}"
: "${SHRINK:?SHRINK must point at tests/libshrink.so}"

# raw buffers of 64 KiB holding frames 0..3 of seed 1, dumped as files
bg serve serve --count 4 --size 64K -q
run dump 0 connect --dump "$T/d" -q
reap serve "$BG" 0
d=$T/d

# flip FILE OFFSET: invert one byte in place
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# 1. a good buffer: the frame it holds is found, and said
run good 0 verify "$d/object-0002.bin"
has good out "^'$d/object-0002.bin': 65536 bytes, seals none$"
has good out '^checked as 65536 raw bytes against the pattern of seed 0x1, frame 2 \(found by search\)$'
has good out '^ok: it holds frame 2$'
run good2 0 verify "$d/object-0003.bin" --seed 1 --frame 3 --json
jq -e '.exit == 0 and .verdict == "ok" and .frame == 3 and .frame_from == "option"
	and .seed == 1 and .kind == "raw" and .needed_bytes == 65536 and .mismatched_bytes == 0
	and .first_mismatch == null and .diagnosis == null and .truncated == false
	and .source.file != null and .source.size == 65536' "$T/good2.out" >/dev/null ||
	fail "good JSON: $(cat "$T/good2.out")"
run seed 1 verify "$d/object-0002.bin" --seed 2 --search 1000
# (one byte in 256 of another pattern matches by chance)
has seed err "^fdx verify: '$d/object-0002.bin' differs from the pattern at offset 0 \\(65[0-9]{3} bytes\\); corrupt: no frame near 0 holds these bytes$"
has seed out "frame 0 \\(a guess: no frame matched near it or below 1000; give --frame, or a larger --search\\)$"
pass "a good buffer: its frame found and named; the wrong seed explains nothing"

# 2. stale, torn, corrupt, truncated: each named
run stale 1 verify "$d/object-0001.bin" --frame 0
has stale err "differs from the pattern at offset 0 \\(65[0-9]{3} bytes\\); stale: it holds frame 1, not frame 0$"
head -c 40000 "$d/object-0000.bin" >"$T/torn.bin"
tail -c +40001 "$d/object-0001.bin" >>"$T/torn.bin"
run torn 1 verify "$T/torn.bin" --json
jq -e '.exit == 1 and .frame == 0 and .diagnosis.kind == "torn" and .diagnosis.tear_offset == 40000
	and .diagnosis.head_frame == 0 and .diagnosis.tail_frame == 1' "$T/torn.out" >/dev/null ||
	fail "torn: $(jq -c '{frame, diagnosis}' "$T/torn.out")"
has torn err "torn: frame 0 up to offset 40000, frame 1 from there on$"
cp "$d/object-0002.bin" "$T/flip.bin"
flip "$T/flip.bin" 1000
run corrupt 1 verify "$T/flip.bin"
has corrupt err "^fdx verify: '$T/flip.bin' differs from the pattern at offset 1000 \\(1 byte\\); corrupt: no frame near 2 holds these bytes$"
head -c 1000 "$d/object-0000.bin" >"$T/short.bin"
run short 1 verify "$T/short.bin" --size 64K --json
jq -e '.exit == 1 and .truncated == true and .first_mismatch == 1000
	and .mismatched_bytes == 64536 and .needed_bytes == 65536' "$T/short.out" >/dev/null ||
	fail "truncated: $(cat "$T/short.out")"
run short2 1 verify "$T/short.bin" --size 64K
has short2 err "^fdx verify: '$T/short.bin': truncated: 1000 bytes, the object needs 65536$"
# 16 rows of 4 KiB, cells of 8x8 bytes: with 10 rows in the file, the first row of cells
# is right, the second (rows 8 to 15) partly missing, so dark
head -c 40960 "$d/object-0000.bin" >"$T/short10.bin"
run short3 1 verify "$T/short10.bin" --size 64K --map "$T/short.pgm"
[ "$("$PNMTOOL" size "$T/short.pgm")" = "512 2" ] || fail "map size $("$PNMTOOL" size "$T/short.pgm")"
for x in 0 511; do
	[ "$("$PNMTOOL" pixel "$T/short.pgm" $x 0)" = 255 ] && [ "$("$PNMTOOL" pixel "$T/short.pgm" $x 1)" = 64 ] ||
		fail "the map of a truncated buffer, column $x"
done
pass "stale, torn, corrupt and truncated are told apart"

# 3. --map: a picture of where the wrong bytes are
head -c 4194304 /dev/zero >"$T/big.bin"
bg serve serve --count 1 --size 4M -q
run dumpbig 0 connect --dump "$T/db" -q
reap serve "$BG" 0
cp "$T/db/object-0000.bin" "$T/big.bin"
flip "$T/big.bin" 2000000
run map 1 verify "$T/big.bin" --map "$T/map.pgm" --json
jq -e '.map.width == 512 and .map.height == 128 and .map.cell_bytes == 8' "$T/map.out" >/dev/null ||
	fail "map geometry: $(jq -c .map "$T/map.out")"
[ "$("$PNMTOOL" size "$T/map.pgm")" = "512 128" ] || fail "map size: $("$PNMTOOL" size "$T/map.pgm")"
# byte 2000000: row 488 (4096 bytes a row), column 1152: cell (144, 61)
[ "$("$PNMTOOL" pixel "$T/map.pgm" 144 61)" = 0 ] || fail "the damaged cell is not black"
for xy in "143 61" "145 61" "144 60" "144 62" "0 0" "511 127"; do
	# shellcheck disable=SC2086
	[ "$("$PNMTOOL" pixel "$T/map.pgm" $xy)" = 255 ] || fail "cell $xy is not white"
done
pass "--map marks the damaged block, and only it"

# 4. checksums: the test vector of fdx-protocol(7), raw and as a 4x2 RGB24 image
printf '\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027' >"$T/vec.bin"
run sum 0 verify "$T/vec.bin" --checksum xxh3:eb173b2aa3b5397a
has sum out '^ok: the checksum matches$'
run sumimg 0 verify "$T/vec.bin" --format rgb24 --width 4 --height 2 --checksum EB173B2AA3B5397A
run sumbad 1 verify "$T/vec.bin" --checksum xxh3:1
has sumbad err "^fdx verify: '$T/vec.bin' differs: checksum xxh3:eb173b2aa3b5397a of its bytes, expected xxh3:0000000000000001$"
# padding is not in an image's checksum: 3 rows of 8 bytes, 6 of them pixels
run sumpad 1 verify "$T/vec.bin" --format u8 --width 6 --height 3 --stride 8 --checksum 0 --json
pix=$(jq -r .computed_checksum "$T/sumpad.out")
[ "$pix" != xxh3:eb173b2aa3b5397a ] || fail "the padding was hashed too"
flip "$T/vec.bin" 6 # padding of row 0
run sumpad2 0 verify "$T/vec.bin" --format u8 --width 6 --height 3 --stride 8 --checksum "$pix"
flip "$T/vec.bin" 5 # the last pixel of row 0
run sumpad3 1 verify "$T/vec.bin" --format u8 --width 6 --height 3 --stride 8 --checksum "$pix"
pass "checksums, raw and of an image's pixels (padding left out)"

# 5. live fds of another process: a ring whose content stays put (--no-fill), so the
# frame each buffer holds is its index; the names give seed and index
bg serve serve --frames 100000000 --no-fill --count 3 --width 64 --height 32 --align 64 \
	--fd-per-plane -q
serve=$BG
bg conn connect -q
conn=$BG
for _ in $(seq 100); do
	[ "$(find "/proc/$conn/fd" -lname '/memfd:fdx:*' 2>/dev/null | wc -l)" -ge 6 ] && break
	sleep 0.05
done
for fd in /proc/"$conn"/fd/*; do
	target=$(readlink "$fd") || continue
	case $target in /memfd:fdx:*) ;; *) continue ;; esac
	n=${fd##*/}
	# /memfd:fdx:PID:1:INDEX.PLANE:s1 (deleted)
	idx=${target#/memfd:fdx:*:1:}
	idx=${idx%%.*}
	run live 0 verify --pid "$conn" --fd "$n" --format nv12 --width 64 --height 32 --align 64 --json
	jq -e --argjson i "$idx" --argjson s "$serve" '.exit == 0 and .verdict == "ok" and .frame == $i
		and .provenance.pid == $s and .provenance.index == $i and .provenance.seed == 1
		and .plane == .provenance.plane and .source.seals == ["shrink", "grow", "seal", "exec"]' \
		"$T/live.out" >/dev/null || fail "live fd $n ($target): $(cat "$T/live.out")"
done
run liveraw 2 verify --pid "$conn" --fd "$n"
has liveraw err "^fdx verify: fd $n of pid $conn holds one plane of an image: give --format, --width and --height to place it$"
# the same fd through /proc: the name still tells seed, index and plane
run procfd 0 verify "/proc/$conn/fd/$n" --format nv12 --width 64 --height 32 --align 64 --json
jq -e --argjson i "$idx" '.verdict == "ok" and .frame == $i and .provenance.index == $i
	and (.source.target | startswith("/memfd:fdx:"))' "$T/procfd.out" >/dev/null ||
	fail "/proc/PID/fd/N as FILE: $(cat "$T/procfd.out")"
run sumplane 2 verify --pid "$conn" --fd "$n" --format nv12 --width 64 --height 32 --checksum 1
has sumplane err "holds one plane; a checksum covers the pixels of every plane$"
kill "$conn" "$serve"
pass "live fds through pidfd_getfd: each plane's frame found, provenance read from the name"

# 6. a ring that is filled while verify reads it: it says which frame it held
bg serve serve --frames 100000000 --count 2 --size 8M -q
serve=$BG
bg conn connect -q
conn=$BG
for _ in $(seq 100); do
	fd=$(find "/proc/$conn/fd" -lname '/memfd:fdx:*' -printf '%f\n' 2>/dev/null | head -n 1)
	[ -n "$fd" ] && break
	sleep 0.05
done
fdx verify --pid "$conn" --fd "$fd" --json >"$T/busy.out" 2>"$T/busy.err"
st=$?
[ "$st" -le 1 ] || fail "verify of a busy buffer exited $st: $(cat "$T/busy.err")"
jq -e '(.verdict == "ok" and .changing == false) or (.changing == true and (.frames_seen | length) == .tries)' \
	"$T/busy.out" >/dev/null || fail "busy buffer: $(jq -c '{verdict, changing, tries, frames_seen}' "$T/busy.out")"
kill "$conn" "$serve"
pass "a buffer written while it is read: $(jq -c '{verdict, tries, frame}' "$T/busy.out")"

# 6b. a layout that covers less than the file: the rest is said to be unchecked; per
# plane results with the padding counted apart
bg serve serve --frames 100000000 --no-fill --count 1 --format i420 --width 100 --height 50 \
	--align 64 -q
serve=$BG
bg conn connect -q
conn=$BG
for _ in $(seq 100); do
	fd=$(find "/proc/$conn/fd" -lname '/memfd:fdx:*' -printf '%f\n' 2>/dev/null | head -n 1)
	[ -n "$fd" ] && break
	sleep 0.05
done
cat "/proc/$conn/fd/$fd" >"$T/i420.bin"
kill "$conn" "$serve"
[ "$(stat -c %s "$T/i420.bin")" -eq 9600 ] || fail "i420 100x50 --align 64 is not 9600 bytes"
run tight 0 verify "$T/i420.bin" --format i420 --width 100 --height 50
has tight out '^the last 2100 bytes of the file lie past the layout: not checked$'
run padded 0 verify "$T/i420.bin" --format i420 --width 100 --height 50 --align 64 --json
jq -e '.unchecked_bytes == 0 and .needed_bytes == 9600 and [.planes[].stride] == [128, 64, 64]' \
	"$T/padded.out" >/dev/null || fail "i420 --align 64: $(jq -c '{unchecked_bytes, planes}' "$T/padded.out")"
run strides 0 verify "$T/i420.bin" --format i420 --width 100 --height 50 --stride 128,64,64
run stride1 0 verify "$T/i420.bin" --format i420 --width 100 --height 50 --stride 128
flip "$T/i420.bin" 6519 # plane 1 (from 6400), row 1 (64 a row), byte 55: padding (50 pixels)
flip "$T/i420.bin" 6430 # plane 1, row 0, byte 30: a pixel
run planes 1 verify "$T/i420.bin" --format i420 --width 100 --height 50 --align 64
has planes out '^plane 1: 2 wrong bytes \(1 in padding\), the first at 6430$'
hasnt planes out '^plane [02]:'
pass "layouts: unchecked tail said, strides given either way, damage per plane"

# 7. an fd held by a plain process (a file), and a process we may not look into
sleep 60 7<"$d/object-0003.bin" &
holder=$!
BG_PIDS+=("$holder")
run held 0 verify --pid "$holder" --fd 7
has held out '^ok: it holds frame 3$'
run nofd 4 verify --pid "$holder" --fd 99
has nofd err "^fdx verify: cannot take fd 99 of process $holder: it has no such fd$"
run nopid 4 verify --pid 2147483647 --fd 0
has nopid err "cannot take fd 0 of process 2147483647: no such process$"
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	# nobody must be able to run the binary: a copy in a directory it can enter
	pub=$(mktemp -d /tmp/fdx-verify-pub.XXXXXX)
	chmod 0755 "$pub"
	cp "$FDX" "$pub/fdx"
	chmod 0755 "$pub/fdx"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/fdx" verify --pid "$holder" --fd 7 \
		>"$T/perm.out" 2>"$T/perm.err"
	st=$?
	rm -rf "$pub"
	[ "$st" -eq 4 ] || fail "verify of root's fd as nobody exited $st"
	has perm err "^fdx verify: cannot take fd 7 of process $holder: not permitted \\(pidfd_getfd needs the right to ptrace it"
	pass "another user's process: refused, and why"
else
	echo "skip: not root (or no setpriv): cannot test a second user"
fi
kill "$holder"

# 8. a buffer without the shrink seal shrinks under the reader: caught, not a crash
cp "$d/object-0000.bin" "$T/shrinks.bin"
LD_PRELOAD="$FDCHECK $SHRINK" FDX_SHRINK_ON_MAP=1 "$FDX" verify "$T/shrinks.bin" --json \
	>"$T/shrink.out" 2>"$T/shrink.err"
st=$?
[ "$st" -eq 1 ] || fail "verify of a shrinking file exited $st: $(cat "$T/shrink.err")"
has shrink err "^fdx verify: '$T/shrinks.bin': truncated: it shrank while it was read \\(it has no shrink seal\\)$"
[ "$(stat -c %s "$T/shrinks.bin")" -eq 32768 ] || fail "the shim did not shrink the file"
pass "shrunk while read: SIGBUS caught, reported as truncated"

# 9. not buffers
run dev 2 verify /dev/null
has dev err "^fdx verify: '/dev/null' is a character device, not a buffer$"
run dir 2 verify "$T"
has dir err "is a directory, not a buffer$"
echo hi | fdx verify /dev/stdin >"$T/pipe.out" 2>"$T/pipe.err"
[ $? -eq 2 ] || fail "a pipe is not a buffer"
has pipe err "is a pipe, not a buffer$"
run missing 4 verify "$T/nope"
has missing err "^fdx verify: cannot open '$T/nope': No such file or directory$"
run missingj 4 verify "$T/nope" --json
jq -e '.exit == 4 and (.error | startswith("cannot open"))' "$T/missingj.out" >/dev/null ||
	fail "--json on failure: $(cat "$T/missingj.out")"
mkfifo "$T/fifo"
timeout 10 "$FDX" verify "$T/fifo" >"$T/fifo.out" 2>"$T/fifo.err"
[ $? -eq 2 ] || fail "a FIFO: exit $? (hung, or not refused)"
has fifo err "^fdx verify: '$T/fifo' is a pipe, not a buffer$"
: >"$T/empty"
run empty 2 verify "$T/empty"
has empty err "is empty: nothing to verify"
pass "pipes, devices, directories, missing and empty files"

# 10. options that do not go together: one line, exit 2
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run bad 2 verify $args
	has bad err "$msg"
done <<LIST
|^fdx verify: give a FILE, or --pid PID --fd N$
$T/a $T/b|^fdx verify: unexpected argument '$T/b': one buffer at a time$
$T/a --pid 1 --fd 1|^fdx verify: give FILE or --pid, not both$
--pid 1|^fdx verify: --pid needs --fd N$
--fd 3 $T/a|^fdx verify: give FILE or --pid, not both$
$T/a --checksum xxh3:12 --seed 1|^fdx verify: --checksum and --seed exclude each other
$T/a --checksum xxh3:zz|^fdx verify: --checksum: 'xxh3:zz' is not xxh3:HEX
$T/a --checksum 1 --map $T/m.pgm|^fdx verify: --map needs the pattern
$T/a --format nv12|^fdx verify: --format needs --width and --height$
$T/a --width 64|^fdx verify: --width needs --format$
$T/a --format nv12,u8 --width 2 --height 2|^fdx verify: --format: one image format
$T/a --format nv12 --width 4 --height 4 --align 4 --stride 8|^fdx verify: --align and --stride exclude each other$
$T/a --format nv12 --width 4 --height 4 --size 10|^fdx verify: --size is for raw buffers
$d/object-0000.bin --format u8 --width 64 --height 4 --stride 32|^fdx verify: --stride: plane 0 needs at least 64 bytes per row, got 32$
$d/object-0000.bin --format u8 --width 4 --height 4 --plane 1|^fdx verify: --plane 1: u8 has 1 plane$
$d/object-0000.bin --plane 0|^fdx verify: --plane needs --format, --width and --height to place the plane$
$d/object-0000.bin --plane 4|^fdx verify: --plane: '4' is out of range
$d/object-0000.bin --format nv12 --width 4 --height 4 --stride 8,8,8|^fdx verify: --stride: 3 values for the 2 planes of nv12
$d/object-0000.bin --format nv12 --width 4 --height 4 --plane 0 --checksum 1|^fdx verify: --plane: the file holds one plane; a checksum covers
--fd 3|^fdx verify: --fd needs --pid PID$
--pid 0 --fd 1|^fdx verify: --pid: '0' is out of range
LIST
run fhelp 0 verify --format help
has fhelp out '^i420 +4:2:0, Y, U and V planes$'
pass "usage errors"
