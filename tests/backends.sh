#!/bin/bash
# tests/backends.sh - every buffer backend this machine has, end to end with verify (raw,
# NV12 with an fd per plane, a stream, send-image); the ones it lacks fail naming what is
# missing; a peer that truncates an unsealed buffer while it is read
. "${TOP_SRCDIR:-.}/tests/lib.sh"
: "${RAW_PEER:?RAW_PEER must point at tests/raw-peer}"
: "${SHRINK:?SHRINK must point at tests/libshrink.so}"
command -v jq >/dev/null || fail "jq is needed (scripts/setup installs it)"

# huge pages: reserved for this test as root, and the old number put back however it ends;
# the lock keeps test-backend (make -j) from changing the number meanwhile
hp=/proc/sys/vm/nr_hugepages
exec {hplock}>>/tmp/fdx-hugepages.lock && flock "$hplock"
huge_free() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
if [ "$(huge_free)" -eq 0 ] && [ "$(cat "$hp")" -eq 0 ]; then
	run huge0 4 serve --backend memfd-huge
	has huge0 err '^fdx serve: --backend memfd-huge: no free huge pages \(HugePages_Free 0'
	pass "memfd-huge without huge pages: exit 4 before listening"
fi
hp_old=$(cat "$hp" 2>/dev/null || echo -1)
restore_hugepages() {
	[ "$hp_old" -ge 0 ] && [ "$(cat "$hp")" != "$hp_old" ] && echo "$hp_old" >"$hp"
	mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"
	cleanup
}
trap restore_hugepages EXIT
# 4 NV12 1080p buffers take 2 huge pages each, one fd or one per plane: 8, and 1 more
# for send-image's synthetic image
if [ "$(huge_free)" -lt 10 ] && [ "$hp_old" -ge 0 ]; then
	echo $((hp_old + 10)) >"$hp" 2>/dev/null
fi
backends="memfd shm tmpfile"
if [ "$(huge_free)" -ge 10 ]; then
	backends="$backends memfd-huge"
else
	echo "skip: memfd-huge end to end: no huge pages could be reserved (not root?)"
fi

# the names fdx gives shm objects (other tests make /dev/shm files of their own meanwhile)
fdx_shm() { find /dev/shm -maxdepth 1 \( -name 'fdx:*' -o -name 'fdx-probe-*' \) | sort; }
shm_before=$(fdx_shm)

# What connect must say the fds are, per backend.
kind_of() {
	case $1 in
	memfd) echo 'memfd, seals shrink,grow,seal(,exec)?' ;;
	memfd-huge) echo 'memfd-huge, seals shrink,grow,seal(,exec)? \(memfd on hugetlbfs, [0-9]+ kB pages\)' ;;
	shm) echo 'shm, seals [a-z,]+ \(tmpfs file, no shrink seal: read under a SIGBUS guard\)' ;;
	tmpfile) echo 'tmpfile, seals [a-z,]+ \(tmpfs file, no shrink seal: read under a SIGBUS guard\)' ;;
	esac
}
fd_kind_of() {
	case $1 in
	shm | tmpfile) echo "tmpfs file" ;;
	*) echo "$1" ;;
	esac
}

for b in $backends; do
	k=$(kind_of "$b")
	# raw objects
	bg serve serve --backend "$b" --size 1M --json
	run connect 0 connect --verify
	reap serve "$BG" 0
	[ "$(grep -Ec "^object [0-3]: 1048576 bytes, $k: ok$" "$T/connect.out")" -eq 4 ] ||
		fail "$b: expected 4 verified raw objects, each '$k'"
	jq -e --arg b "$b" '.backend.name == $b and .clients[0].exit == 0 and
		.clients[0].ok == 4' "$T/serve.out" >/dev/null ||
		fail "$b: serve's JSON does not say backend $b with 4 ok"
	pass "$b: raw objects served, recognised and verified"

	# NV12, every plane in an fd of its own, with connect's JSON
	bg serve serve --backend "$b" --format nv12 --fd-per-plane
	run connect_json 0 connect --verify --json
	reap serve "$BG" 0
	has serve out "; backend $b($|,| in )"
	jq -e --arg b "$b" --arg k "$(fd_kind_of "$b")" '.total.ok == 4 and
		all(.objects[]; .backend == $b and .fds == 2 and .fd_kind == $k and
		.sigbus_guard == ($b == "shm" or $b == "tmpfile"))' \
		"$T/connect_json.out" >/dev/null || fail "$b: connect's JSON for NV12 per plane"
	pass "$b: NV12 with an fd per plane"

	# a short stream through the ring: the guard is installed once, not per frame
	bg serve serve --backend "$b" --frames 200 --size 256K
	run stream 0 connect --verify
	reap serve "$BG" 0
	has stream out '^stream: 200 frames in .*; 200 ok; '
	pass "$b: a stream of 200 frames"

	# a producer of images with this backend, fdx serve --receive as the consumer
	bg recv serve --receive --verify
	run send 0 send-image --backend "$b" --format nv12
	reap recv "$BG" 0
	has send out "; backend $b"
	has send out '^object 0: synthetic, seed 1, 1920x1080 nv12, 3110400 bytes, '"$b"': ok$'
	has recv out "^client 1 \\(pid [0-9]+, fdx-send-image\\): received 1 objects, 3110400 bytes: 1 ok$"
	pass "$b: send-image to serve --receive --verify"
done

# tmpfile elsewhere: --dir, and what the file is on another file system
bg serve serve --backend tmpfile --dir "$T" --size 64K --count 2
run connect 0 connect --verify
reap serve "$BG" 0
has serve out "; backend tmpfile in $T$"
tk="file"
[ "$(stat -f -c %T "$T")" = tmpfs ] && tk="tmpfs file"
has connect out "^object 1: 65536 bytes, tmpfile, seals [a-z,]+ \\($tk, no shrink seal: read under a SIGBUS guard\\): ok$"
for f in "$T"/*; do
	case $f in
	*.out | *.err | "$T/run") ;;
	*) fail "tmpfile left $f behind" ;;
	esac
done
pass "tmpfile --dir: unnamed files in the directory given, nothing left"

# a full tmpfs: the allocation fails at once with ENOSPC, not with a SIGBUS later
mkdir "$T/small"
if mount -t tmpfs -o size=64k fdx-test "$T/small" 2>/dev/null; then
	bg serve serve --backend tmpfile --dir "$T/small" --size 1M --count 1
	run full 3 connect
	reap serve "$BG" 4
	umount "$T/small"
	has serve err "client 1: cannot allocate buffer 0 \\(1048576 bytes\\): tmpfile: cannot allocate 1048576 bytes in $T/small: No space left on device$"
	has full err '^fdx connect: peer reported an error: cannot allocate buffer 0'
	pass "tmpfile in a full tmpfs: ENOSPC named at allocation, exit 4 (serve) and 3 (connect)"
else
	echo "skip: a full tmpfs: no tmpfs can be mounted here (not root?)"
fi

# nothing left in /dev/shm by any of it
[ "$(fdx_shm)" = "$shm_before" ] || fail "objects left in /dev/shm: $(fdx_shm)"
pass "nothing left in /dev/shm"

# devices this machine may lack: exit 4 naming the device, before anyone connects
if [ -e /dev/dma_heap/system ]; then
	bg serve serve --backend dma-heap --size 1M
	run connect 0 connect --verify
	reap serve "$BG" 0
	has connect out '^object 0: 1048576 bytes, dma-heap, seals none \(dma-buf, cannot shrink\): ok$'
	pass "dma-heap: served and verified"
else
	echo "skip: no /dev/dma_heap: dma-heap's success path needs a kernel with DMA-BUF heaps"
	run dmaheap 4 serve --backend dma-heap
	has dmaheap err '^fdx serve: --backend dma-heap: /dev/dma_heap/system: No such file or directory \(this kernel or board has no DMA-BUF heaps\)$'
	run dmaheap2 4 send-image --backend dma-heap:cma
	has dmaheap2 err '^fdx send-image: --backend dma-heap:cma: /dev/dma_heap/cma: '
	[ ! -e "$XDG_RUNTIME_DIR/fdx.sock" ] || fail "serve listened although it cannot make buffers"
	pass "dma-heap: exit 4 naming /dev/dma_heap"
fi
if [ -e /dev/udmabuf ]; then
	bg serve serve --backend udmabuf --size 1M
	run connect 0 connect --verify
	reap serve "$BG" 0
	has connect out '^object 0: 1048576 bytes, udmabuf, seals none \(dma-buf, cannot shrink\): ok$'
	pass "udmabuf: served and verified"
else
	echo "skip: no /dev/udmabuf: udmabuf's success path needs a kernel with udmabuf"
	run udmabuf 4 serve --backend udmabuf
	has udmabuf err '^fdx serve: --backend udmabuf: /dev/udmabuf: No such file or directory \(this kernel has no udmabuf'
	pass "udmabuf: exit 4 naming /dev/udmabuf"
fi

# options that do not go together: usage errors
run bogus 2 serve --backend bogus
has bogus err "^fdx serve: --backend: unknown backend 'bogus' \\(known: memfd, memfd-huge, shm, tmpfile, dma-heap\\[:NAME\\], udmabuf\\)$"
run bogus2 2 send-image --backend dma-heap:
run dirmemfd 2 serve --dir /tmp
has dirmemfd err '^fdx serve: --dir is where --backend tmpfile makes its files; the backend is memfd$'
run dirshm 2 send-image --backend shm --dir /tmp
run copyb 2 serve --backend shm --copy --frames 10
has copyb err '^fdx serve: --copy sends no fds'
run recvb 2 serve --receive --backend shm
has recvb err '^fdx serve: --backend is for sending'
run baddir 4 serve --backend tmpfile --dir /nonexistent-fdx
has baddir err "^fdx serve: --backend tmpfile: O_TMPFILE in '/nonexistent-fdx': No such file or directory$"
pass "--backend and --dir misuse: exit 2; a --dir without O_TMPFILE: exit 4"

# a producer that truncates its shm buffer after the consumer mapped it, then makes it
# ready as a frame: connect reads past the new end under its guard and says who did it
sock=$T/p.sock
"$RAW_PEER" "$sock" shm-shrink >"$T/peer.out" 2>"$T/peer.err" &
peer=$!
run shrink 3 connect -s "$sock" --verify
wait "$peer" || fail "raw-peer shm-shrink failed: $(cat "$T/peer.err")"
has shrink out '^object 0: 1048576 bytes, shm, .*: ok$'
has shrink err '^fdx connect: buffer 0 truncated by peer while it was read$'
grep -q '^ERROR 3: buffer 0 truncated by peer while it was read$' "$T/peer.out" ||
	fail "the peer was not told: $(cat "$T/peer.out")"
pass "shm truncated by the peer during a stream: exit 3, peer told, no crash, no fd leaked"

# the same for a single object: the file loses half right after connect maps it (shim)
bg serve serve --backend shm --size 1M --count 1
LD_PRELOAD="$FDCHECK $SHRINK" FDX_SHRINK_ON_MAP=1 "$FDX" connect --verify \
	>"$T/shrink1.out" 2>"$T/shrink1.err"
got=$?
[ "$got" -eq 3 ] || fail "connect on a buffer that shrank exited $got, expected 3"
reap serve "$BG" 3
has shrink1 err '^fdx connect: buffer 0 truncated by peer while it was read$'
has serve err 'client 1: peer reported an error: buffer 0 truncated by peer while it was read$'
pass "shm object truncated while verified: exit 3 on both sides"

# a DMA-BUF that is not one: refused naming both
rm -f "$sock"
"$RAW_PEER" "$sock" dma-heap-memfd >"$T/peer.out" 2>"$T/peer.err" &
peer=$!
run claim 3 connect -s "$sock" --verify
wait "$peer" || fail "raw-peer dma-heap-memfd failed: $(cat "$T/peer.err")"
has claim err '^fdx connect: buffer 0: the OBJECT says dma-heap, fd 0 is a memfd$'
grep -q '^ERROR 3: buffer 0: the OBJECT says dma-heap, fd 0 is a memfd$' "$T/peer.out" ||
	fail "the peer was not told: $(cat "$T/peer.out")"
pass "a memfd announced as dma-heap: refused naming both"

# what fdx stat sees of unlinked shm objects and unnamed tmpfiles while a stream runs
for b in shm tmpfile; do
	bg serve serve --backend "$b" --size 1M --count 2 --duration 3 -q
	spid=$BG
	bg conn connect --verify -q
	cpid=$BG
	# jq's \(...) interpolation, not the shell's
	# shellcheck disable=SC2016
	case $b in
	shm) want='startswith("/dev/shm/fdx:\($s):1:") and endswith(" (deleted)")' ;;
	tmpfile) want='startswith("/dev/shm/#") and endswith(" (deleted)")' ;;
	esac
	# until connect holds both: the objects arrive one after the other
	seen=no
	for _ in $(seq 1 50); do
		fdx stat -J -p "$spid" >"$T/stat.json" 2>/dev/null
		jq -e --argjson s "$spid" --argjson c "$cpid" "[.buffers[] | select(.type == \"shm\"
			and .size == 1048576 and (.name | $want)
			and ([.holders[].pid] | sort) == ([\$s, \$c] | sort))] | length == 2" \
			"$T/stat.json" >/dev/null && seen=yes && break
		sleep 0.1
	done
	[ $seen = yes ] || fail "stat during a $b stream: $(cat "$T/stat.json")"
	reap conn "$cpid" 0
	reap serve "$spid" 0
	pass "stat shows the $b buffers of a running stream, held by both sides"
done
