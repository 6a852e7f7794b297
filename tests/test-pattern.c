/* test-pattern.c - unit tests of the seeded pattern: determinism, slices, fused verify */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "pattern.h"
#include "test-common.h"

#define MIB (1024u * 1024u)

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static uint8_t *filled(uint64_t seed, uint64_t frame, size_t len, uint64_t pos)
{
	struct fdx_pattern p;
	uint8_t *b = xmalloc(len);

	fdx_pattern_init(&p, seed, frame);
	fdx_pattern_fill(&p, b, len, pos);
	return b;
}

/* The byte at stream position pos, from the word function alone. */
static uint8_t byte_of(const struct fdx_pattern *p, uint64_t pos)
{
	return (uint8_t)(fdx_pattern_word(p, pos / 8) >> (8 * (pos % 8)));
}

/* How many of the n whole words at a and b are equal. */
static size_t equal_words(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t same = 0;

	for (size_t i = 0; i < n; i++)
		same += memcmp(a + 8 * i, b + 8 * i, 8) == 0;
	return same;
}

START_TEST(deterministic)
{
	const size_t len = 64 * 1024 + 5;
	uint8_t *a = filled(42, 7, len, 0);
	uint8_t *b = filled(42, 7, len, 0);
	struct fdx_pattern p, q;

	ck_assert_mem_eq(a, b, len);
	/* init is a pure function of its arguments too */
	fdx_pattern_init(&p, 42, 7);
	fdx_pattern_init(&q, 42, 7);
	ck_assert_uint_eq(p.key, q.key);
	ck_assert_uint_eq(p.seed, 42);
	ck_assert_uint_eq(p.frame, 7);
	free(a);
	free(b);
}
END_TEST

START_TEST(seeds_and_frames_differ)
{
	/* pairs that a weak key derivation (sum, xor, swap) would confuse */
	static const uint64_t pairs[][4] = {
		{ 1, 0, 2, 0 },		 { 0, 1, 0, 2 },	  { 0, 1, 1, 0 },
		{ 5, 3, 3, 5 },		 { 5, 3, 6, 2 },	  { 0, 0, 0, UINT64_MAX },
		{ UINT64_MAX, 0, 0, 0 }, { 1ull << 63, 0, 0, 0 }, { 100, 100, 101, 101 },
	};
	const size_t words = 16 * 1024;

	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		uint8_t *a = filled(pairs[i][0], pairs[i][1], 8 * words, 0);
		uint8_t *b = filled(pairs[i][2], pairs[i][3], 8 * words, 0);
		size_t same = equal_words(a, b, words);

		/* unrelated 64-bit words coincide with probability 2^-64 */
		ck_assert_msg(same <= 1,
			      "seed/frame %lu/%lu and %lu/%lu share %zu of %zu words",
			      (unsigned long)pairs[i][0], (unsigned long)pairs[i][1],
			      (unsigned long)pairs[i][2], (unsigned long)pairs[i][3], same,
			      words);
		free(a);
		free(b);
	}
}
END_TEST

START_TEST(words_look_unrelated)
{
	const size_t words = 64 * 1024;
	uint8_t *a = filled(9, 9, 8 * words, 0);
	size_t repeats = 0, zero = 0;
	uint64_t ones = 0;

	for (size_t i = 0; i < words; i++) {
		uint64_t w;

		memcpy(&w, a + 8 * i, 8);
		if (i && memcmp(a + 8 * i, a + 8 * (i - 1), 8) == 0)
			repeats++;
		zero += w == 0;
		ones += (uint64_t)__builtin_popcountll(w);
	}
	ck_assert_uint_eq(repeats, 0);
	ck_assert_uint_eq(zero, 0);
	/* about half the bits set: within 1% of 32 per word */
	ck_assert_uint_gt(ones, words * 32 * 99 / 100);
	ck_assert_uint_lt(ones, words * 32 * 101 / 100);
	free(a);
}
END_TEST

START_TEST(word_matches_buffer)
{
	const size_t words = 4096 + 3;
	uint8_t *a = filled(0xabcdef, 12, 8 * words, 0);
	struct fdx_pattern p;

	fdx_pattern_init(&p, 0xabcdef, 12);
	for (size_t i = 0; i < words; i++) {
		uint64_t w;

		memcpy(&w, a + 8 * i, 8);
		ck_assert_msg(le64toh(w) == fdx_pattern_word(&p, i), "word %zu differs", i);
	}
	/* far into the stream, from an aligned fill at that position */
	for (uint64_t i = (1ull << 40); i < (1ull << 40) + 64; i++) {
		uint8_t b[8];
		uint64_t w;

		fdx_pattern_fill(&p, b, 8, 8 * i);
		memcpy(&w, b, 8);
		ck_assert_uint_eq(le64toh(w), fdx_pattern_word(&p, i));
	}
	free(a);
}
END_TEST

START_TEST(fill_at_position_is_a_slice)
{
	static const uint64_t positions[] = { 0,  1,  3,   7,	 8,    9,   13,
					      63, 64, 100, 1001, 4095, 4096 };
	static const size_t lens[] = { 0, 1, 2, 5, 7, 8, 9, 15, 16, 17, 100, 1000, 4096 };
	const size_t total = 8192 + 64;
	uint8_t *ref = filled(77, 5, total, 0);
	uint8_t *buf = xmalloc(4096 + 64);
	struct fdx_pattern p;

	fdx_pattern_init(&p, 77, 5);
	for (unsigned i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		for (unsigned j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			for (unsigned mis = 0; mis < 8; mis++) {
				uint8_t *dst = buf + mis;

				/* the guard bytes around the slice must stay untouched */
				memset(buf, 0x5a, 4096 + 64);
				fdx_pattern_fill(&p, dst, lens[j], positions[i]);
				ck_assert_msg(
					memcmp(dst, ref + positions[i], lens[j]) == 0,
					"fill of %zu bytes at pos %lu, dst+%u differs",
					lens[j], (unsigned long)positions[i], mis);
				for (unsigned k = 0; k < mis; k++)
					ck_assert_uint_eq(buf[k], 0x5a);
				for (size_t k = 0; k < 16; k++)
					ck_assert_uint_eq(dst[lens[j] + k], 0x5a);
			}
		}
	}
	free(ref);
	free(buf);
}
END_TEST

START_TEST(fill_far_position)
{
	static const uint64_t positions[] = { (1ull << 40) + 3, UINT64_MAX - 100,
					      0xfffffff9ull };
	uint8_t buf[64 + 8];
	struct fdx_pattern p;

	fdx_pattern_init(&p, 3, 1);
	for (unsigned i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		fdx_pattern_fill(&p, buf + 1, 61, positions[i]);
		for (unsigned k = 0; k < 61; k++)
			ck_assert_msg(buf[1 + k] == byte_of(&p, positions[i] + k),
				      "byte %u of a fill at pos %lu", k,
				      (unsigned long)positions[i]);
	}
}
END_TEST

static void verify_ok(const struct fdx_pattern *p, const uint8_t *b, size_t len,
		      uint64_t pos)
{
	struct fdx_verify_result r;

	/* r is filled on success too: start from values that would show otherwise */
	r.first_mismatch = 12345;
	r.mismatched_bytes = 678;
	ck_assert_int_eq(fdx_pattern_verify(p, b, len, pos, &r), 0);
	ck_assert_uint_eq(r.first_mismatch, FDX_NO_OFFSET);
	ck_assert_uint_eq(r.mismatched_bytes, 0);
}

START_TEST(verify_correct)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 9, 4095, 4096, 4097, MIB + 3 };
	struct fdx_pattern p;

	fdx_pattern_init(&p, 11, 22);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *b = filled(11, 22, sizes[i], 0);
		uint8_t *c = filled(11, 22, sizes[i], 13);

		verify_ok(&p, b, sizes[i], 0);
		verify_ok(&p, c, sizes[i], 13);
		free(b);
		free(c);
	}
}
END_TEST

/* Flip one byte at each interesting offset and check exactly it is reported. */
static void check_single_flips(size_t size, uint64_t pos)
{
	struct fdx_pattern p;
	uint8_t *b = filled(0x5eed, 3, size, pos);
	const size_t offs[] = { 0, size / 2, size - 1 };

	fdx_pattern_init(&p, 0x5eed, 3);
	if (size == 0) {
		verify_ok(&p, b, 0, pos);
		free(b);
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		struct fdx_verify_result r;
		size_t off = offs[i];

		for (unsigned bit = 0; bit < 8; bit += 7) {
			b[off] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(fdx_pattern_verify(&p, b, size, pos, &r), 1);
			ck_assert_msg(
				r.first_mismatch == off && r.mismatched_bytes == 1,
				"size %zu pos %lu: flip at %zu reported at %lu, %lu bytes",
				size, (unsigned long)pos, off,
				(unsigned long)r.first_mismatch,
				(unsigned long)r.mismatched_bytes);
			b[off] ^= (uint8_t)(1u << bit);
		}
	}
	verify_ok(&p, b, size, pos);
	free(b);
}

START_TEST(verify_finds_single_flip)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 9, 4095, 4096, 4097, MIB + 3 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check_single_flips(sizes[i], 0);
		check_single_flips(sizes[i], 5);
		check_single_flips(sizes[i], 4096 + 8);
	}
}
END_TEST

START_TEST(verify_two_flips)
{
	const size_t size = MIB + 3;
	uint8_t *b = filled(1, 2, size, 0);
	struct fdx_verify_result r;
	struct fdx_pattern p;

	fdx_pattern_init(&p, 1, 2);
	b[MIB] ^= 0xff;
	b[100] ^= 0x01;
	ck_assert_int_eq(fdx_pattern_verify(&p, b, size, 0, &r), 1);
	ck_assert_uint_eq(r.first_mismatch, 100);
	ck_assert_uint_eq(r.mismatched_bytes, 2);
	b[MIB] ^= 0xff;
	b[100] ^= 0x01;

	/* two in one word, and one in the partial last word */
	b[4096 + 1] ^= 0x10;
	b[4096 + 6] ^= 0x10;
	b[size - 2] ^= 0x10;
	ck_assert_int_eq(fdx_pattern_verify(&p, b, size, 0, &r), 1);
	ck_assert_uint_eq(r.first_mismatch, 4096 + 1);
	ck_assert_uint_eq(r.mismatched_bytes, 3);
	free(b);
}
END_TEST

START_TEST(verify_other_frame)
{
	const size_t size = MIB + 3;
	uint8_t *b = filled(1, 2, size, 0);
	struct fdx_verify_result r;
	struct fdx_pattern p;

	fdx_pattern_init(&p, 1, 3);
	ck_assert_int_eq(fdx_pattern_verify(&p, b, size, 0, &r), 1);
	/* a random byte matches 1 time in 256 */
	ck_assert_uint_gt(r.mismatched_bytes, size / 256 * 250);
	ck_assert_uint_le(r.mismatched_bytes, size);
	ck_assert_uint_lt(r.first_mismatch, 16);
	/* the right frame at the wrong position is just as wrong */
	fdx_pattern_init(&p, 1, 2);
	ck_assert_int_eq(fdx_pattern_verify(&p, b, size, 8, &r), 1);
	ck_assert_uint_gt(r.mismatched_bytes, size / 256 * 250);
	free(b);
}
END_TEST

START_TEST(verify_unaligned_source)
{
	const size_t size = 3 * 4096 + 11;
	uint8_t *buf = xmalloc(size + 16);
	struct fdx_pattern p;

	fdx_pattern_init(&p, 8, 8);
	for (unsigned mis = 1; mis < 8; mis++) {
		for (uint64_t pos = 0; pos < 10; pos += 3) {
			uint8_t *src = buf + mis;
			struct fdx_verify_result r;

			fdx_pattern_fill(&p, src, size, pos);
			verify_ok(&p, src, size, pos);
			src[4097] ^= 0x40;
			ck_assert_int_eq(fdx_pattern_verify(&p, src, size, pos, &r), 1);
			ck_assert_uint_eq(r.first_mismatch, 4097);
			ck_assert_uint_eq(r.mismatched_bytes, 1);
			src[size - 1] ^= 0x01;
			ck_assert_int_eq(fdx_pattern_verify(&p, src, size, pos, &r), 1);
			ck_assert_uint_eq(r.first_mismatch, 4097);
			ck_assert_uint_eq(r.mismatched_bytes, 2);
		}
	}
	free(buf);
}
END_TEST

/* ---- diagnosis ---- */

/* first offset >= from where frames a and b differ (the first byte a tear can show) */
static uint64_t first_difference(uint64_t seed, uint64_t a, uint64_t b, uint64_t from,
				 uint64_t len, uint64_t pos)
{
	struct fdx_pattern pa, pb;

	fdx_pattern_init(&pa, seed, a);
	fdx_pattern_init(&pb, seed, b);
	while (from < len && byte_of(&pa, pos + from) == byte_of(&pb, pos + from))
		from++;
	return from;
}

static void diagnose(uint64_t seed, uint64_t frame, const uint8_t *b, size_t len,
		     uint64_t pos, uint64_t window, struct fdx_diagnosis *d)
{
	struct fdx_pattern p;

	fdx_pattern_init(&p, seed, frame);
	fdx_pattern_diagnose(&p, b, len, pos, window, d);
	ck_assert_uint_eq(d->expected, frame);
}

START_TEST(diagnose_right_buffer)
{
	struct fdx_diagnosis d;
	uint8_t *b = filled(7, 3, 4099, 0);

	diagnose(7, 3, b, 4099, 0, 64, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_NONE);
	ck_assert_uint_eq(d.verify.mismatched_bytes, 0);
	ck_assert_str_eq(fdx_diag_name(d.kind), "none");
	free(b);
}
END_TEST

/* A buffer that still holds an older (or newer) frame, at several distances and sizes. */
START_TEST(diagnose_stale)
{
	static const struct {
		uint64_t expected, held;
		size_t len;
		uint64_t pos;
	} cases[] = {
		{ 5, 4, 4096, 0 },	   { 5, 6, 4096, 0 },
		{ 100, 37, 65536 + 5, 0 }, { 0, 1, 9, 0 },
		{ 9, 8, 4097, 13 },	   { UINT64_MAX, UINT64_MAX - 2, 64, 0 },
		{ 1, 0, 1 << 20, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fdx_diagnosis d;
		uint8_t *b = filled(11, cases[i].held, cases[i].len, cases[i].pos);

		diagnose(11, cases[i].expected, b, cases[i].len, cases[i].pos, 64, &d);
		ck_assert_msg(d.kind == FDX_DIAG_STALE, "case %zu: %s, expected stale", i,
			      fdx_diag_name(d.kind));
		ck_assert_uint_eq(d.found, cases[i].held);
		ck_assert_uint_gt(d.verify.mismatched_bytes, cases[i].len / 2);
		free(b);
	}
}
END_TEST

/* Beyond the search window a stale buffer cannot be told from garbage. */
START_TEST(diagnose_stale_beyond_window)
{
	struct fdx_diagnosis d;
	uint8_t *b = filled(11, 1000, 4096, 0);

	diagnose(11, 10, b, 4096, 0, 64, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_CORRUPT);
	diagnose(11, 10, b, 4096, 0, 990, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_STALE);
	ck_assert_uint_eq(d.found, 1000);
	free(b);
}
END_TEST

/* New frame up to the tear, the previous one after it (the producer overtook the reader).
 */
START_TEST(diagnose_torn)
{
	static const struct {
		size_t len;
		uint64_t tear, pos;
	} cases[] = {
		{ 8192, 4096, 0 }, { 8192, 1, 0 },	  { 8192, 8176, 0 },
		{ 4097, 2049, 0 }, { 1 << 20, 12345, 0 }, { 5000, 777, 3 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len;
		uint64_t pos = cases[i].pos, tear = cases[i].tear;
		uint8_t *b = filled(3, 20, len, pos);
		uint8_t *old = filled(3, 19, len, pos);
		struct fdx_diagnosis d;
		uint64_t want = first_difference(3, 20, 19, tear, len, pos);

		memcpy(b + tear, old + tear, len - tear);
		diagnose(3, 20, b, len, pos, 64, &d);
		ck_assert_msg(d.kind == FDX_DIAG_TORN, "case %zu: %s, expected torn", i,
			      fdx_diag_name(d.kind));
		ck_assert_uint_eq(d.head_frame, 20);
		ck_assert_uint_eq(d.tail_frame, 19);
		ck_assert_uint_eq(d.found, 19);
		ck_assert_uint_eq(d.tear, want);
		ck_assert_uint_eq(d.verify.first_mismatch, want);
		free(b);
		free(old);
	}
}
END_TEST

/* The other frame first, the expected one after the tear. */
START_TEST(diagnose_torn_reversed)
{
	size_t len = 10000;
	uint8_t *b = filled(3, 20, len, 0);
	uint8_t *old = filled(3, 21, len, 0);
	struct fdx_diagnosis d;

	memcpy(b, old, 6000);
	diagnose(3, 20, b, len, 0, 64, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_TORN);
	ck_assert_uint_eq(d.head_frame, 21);
	ck_assert_uint_eq(d.tail_frame, 20);
	ck_assert_uint_eq(d.tear, first_difference(3, 21, 20, 6000, len, 0));
	free(b);
	free(old);
}
END_TEST

/* Damage that no nearby frame explains: flips, zeros, a third frame in the middle. */
START_TEST(diagnose_corrupt)
{
	size_t len = 8192;
	struct fdx_diagnosis d;
	uint8_t *b = filled(5, 2, len, 0);
	uint8_t *other = filled(5, 1, len, 0);

	b[100] ^= 0x01;
	diagnose(5, 2, b, len, 0, 64, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_CORRUPT);
	ck_assert_uint_eq(d.verify.first_mismatch, 100);
	ck_assert_uint_eq(d.verify.mismatched_bytes, 1);
	ck_assert_str_eq(fdx_diag_name(d.kind), "corrupt");

	/* the last byte: one byte from "another frame" proves nothing, with any window */
	b[100] ^= 0x01;
	b[len - 1] ^= 0x80;
	diagnose(5, 2, b, len, 0, 4096, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_CORRUPT);
	ck_assert_uint_eq(d.verify.first_mismatch, len - 1);
	b[len - 1] ^= 0x80;
	/* likewise a tail of 7 bytes from frame 1 */
	memcpy(b + len - 7, other + len - 7, 7);
	diagnose(5, 2, b, len, 0, 64, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_CORRUPT);

	memset(b, 0, len);
	diagnose(5, 2, b, len, 0, 64, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_CORRUPT);
	ck_assert_uint_gt(d.verify.mismatched_bytes, len - len / 64);

	/* frame 1 in the middle only: neither stale nor a single tear */
	free(b);
	b = filled(5, 2, len, 0);
	memcpy(b + 2000, other + 2000, 1000);
	diagnose(5, 2, b, len, 0, 64, &d);
	ck_assert_uint_eq(d.kind, FDX_DIAG_CORRUPT);
	ck_assert_uint_ge(d.verify.first_mismatch, 2000);
	free(b);
	free(other);
}
END_TEST

static Suite *pattern_suite(void)
{
	Suite *s = suite_create("pattern");
	TCase *tc;

	tc = tc_case("generate");
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, seeds_and_frames_differ);
	tcase_add_test(tc, words_look_unrelated);
	tcase_add_test(tc, word_matches_buffer);
	tcase_add_test(tc, fill_at_position_is_a_slice);
	tcase_add_test(tc, fill_far_position);
	suite_add_tcase(s, tc);

	tc = tc_case("verify");
	tcase_add_test(tc, verify_correct);
	tcase_add_test(tc, verify_finds_single_flip);
	tcase_add_test(tc, verify_two_flips);
	tcase_add_test(tc, verify_other_frame);
	tcase_add_test(tc, verify_unaligned_source);
	suite_add_tcase(s, tc);

	tc = tc_case("diagnose");
	tcase_add_test(tc, diagnose_right_buffer);
	tcase_add_test(tc, diagnose_stale);
	tcase_add_test(tc, diagnose_stale_beyond_window);
	tcase_add_test(tc, diagnose_torn);
	tcase_add_test(tc, diagnose_torn_reversed);
	tcase_add_test(tc, diagnose_corrupt);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(pattern_suite());
}
