#!/bin/bash
# tests/serve-connect.sh - the core promise: `fdx serve & fdx connect --verify`, and what
# --inject flip does to it
. "${TOP_SRCDIR:-.}/tests/lib.sh"

# 1. no options at all: defaults for socket, count, format (1920x1080 NV12), seed
bg serve serve
run connect 0 connect --verify
reap serve "$BG" 0
has connect out '^connected to '"$XDG_RUNTIME_DIR"'/fdx.sock: server pid [0-9]+ \(fdx-serve\)'
# kernels with MFD_NOEXEC_SEAL (6.3+) add the exec seal themselves
[ "$(grep -Ec '^object [0-3]: 1920x1080 nv12, 3110400 bytes, memfd, seals shrink,grow,seal(,exec)?: ok$' "$T/connect.out")" -eq 4 ] ||
	fail "connect: expected 4 verified 1920x1080 NV12 objects"
has connect out '^total: 4 objects, 12441600 bytes: 4 ok, 0 mismatch, 0 unchecked; verified at'
has serve out "^listening on $XDG_RUNTIME_DIR/fdx.sock \(4 buffers of 1920x1080 nv12, 3110400 bytes, seed 1\)"
has serve out '^client 1 \(pid [0-9]+, fdx-connect\): 4 objects, 12441600 bytes in .* ms: 4 ok$'
[ ! -e "$XDG_RUNTIME_DIR/fdx.sock" ] || fail "serve left its socket behind"
pass "serve & connect --verify with no options"

# 2. without --verify the objects are mapped but not checked
bg serve serve
run connect 0 connect
reap serve "$BG" 0
has connect out '^total: 4 objects, 12441600 bytes: 0 ok, 0 mismatch, 4 unchecked$'
has serve out ': 4 objects, 12441600 bytes in .*: 0 ok, 4 unchecked$'
pass "connect without --verify reports unchecked"

# 3. a damaged byte is found at exactly its offset: first, middle, last byte
for off in 0 1555200 3110399; do
	bg serve serve --inject "flip:$off"
	run connect 1 connect --verify
	reap serve "$BG" 1
	has connect err "buffer 0 differs from the pattern at offset $off \\(1 byte; plane [01]: 1\\)"
	has connect out "^object 0: .*MISMATCH at offset $off, 1 byte differs \\(corrupt\\)$"
	has connect err "; corrupt: no frame near 0 holds these bytes$"
	has connect out '^object 1: .*: ok$'
	has serve out ': 3 ok, 1 mismatch$'
done
pass "--inject flip is reported at the right offset, exit 1 on both sides"

# 3b. a buffer holding another frame, or two frames, is told apart from corruption
bg serve serve --inject stale
run connect 1 connect --verify --json
reap serve "$BG" 1
has connect err 'buffer 0 differs from the pattern at offset 0 .*; stale: it holds frame 1, not frame 0$'
jq -e '.objects[0].verdict == "mismatch" and .objects[0].diagnosis.kind == "stale"
	and .objects[0].diagnosis.found_frame == 1 and .objects[0].diagnosis.expected_frame == 0
	and .objects[1].diagnosis == null and .objects[1].verdict == "ok"' "$T/connect.out" >/dev/null ||
	fail "--inject stale: $(jq -c '.objects[0]' "$T/connect.out")"
for size in 3110400 1001; do
	half=$((size / 2))
	bg serve serve --inject torn --size "$size"
	run connect 1 connect --verify --json
	reap serve "$BG" 1
	# the tear shows at the first byte from the middle on where frames 0 and 1 differ
	jq -e --argjson h "$half" '.objects[0].diagnosis.kind == "torn"
		and .objects[0].diagnosis.tear_offset >= $h and .objects[0].diagnosis.tear_offset < $h + 8
		and .objects[0].diagnosis.head_frame == 0 and .objects[0].diagnosis.tail_frame == 1
		and .objects[0].first_mismatch == .objects[0].diagnosis.tear_offset' \
		"$T/connect.out" >/dev/null || fail "--inject torn: $(jq -c '.objects[0]' "$T/connect.out")"
	has connect err "; torn: frame 0 up to offset $half[0-9]*, frame 1 from there on$"
done
pass "--inject stale and torn are diagnosed as such"

# 4. hex offsets and seeds are accepted and round-trip
bg serve serve --inject flip:0x10 --seed 0xdeadbeef --count 1 --size 64
run connect 1 connect --verify --json
reap serve "$BG" 1
has connect out '"first_mismatch":16,'
has connect out '"seed":3735928559,'
pass "hex --seed and --inject offsets"

# 5. the sizes and counts the issue names
for args in "--count 64" "--size 1" "--size 7 --count 3" "--size 268435456"; do
	# shellcheck disable=SC2086
	bg serve serve $args
	run connect 0 connect --verify
	reap serve "$BG" 0
	has connect out ' 0 mismatch, 0 unchecked'
done
has connect out '^total: 4 objects, 1073741824 bytes: 4 ok'
pass "--count 64, --size 1, --size 7, --size 268435456"

# 6. nothing is listening: connect waits, then says where it looked (exit 5)
run missing 5 connect --wait 0.3 -s "$T/none.sock"
has missing err "cannot connect to '$T/none.sock': No such file or directory \\(waited 0.3 s\\)"
run missing_default 5 connect --wait 0
has missing_default err "cannot connect to '$XDG_RUNTIME_DIR/fdx.sock'"
pass "connect to a missing socket exits 5 naming the path"

# 7. connect started before serve still gets through (--wait)
bg early connect --verify -q
early=$BG
sleep 0.3
bg serve serve -q
reap early "$early" 0
reap serve "$BG" 0
pass "connect waits for a server that starts later"
