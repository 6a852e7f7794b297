/* test-provenance.c - fdx buffer names: round trips, limits, and names that are not ours */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "provenance.h"
#include "test-common.h"

START_TEST(round_trip)
{
	static const struct fdx_provenance cases[] = {
		{ .pid = 7232, .session = 1, .index = 0, .plane = -1 },
		{ .pid = 1, .session = 0, .index = 3, .plane = 2 },
		{ .pid = 42,
		  .session = 9,
		  .index = 65535,
		  .plane = -1,
		  .has_seed = true,
		  .seed = 0x1234 },
		{ .pid = UINT32_MAX,
		  .session = UINT32_MAX,
		  .index = UINT64_MAX,
		  .plane = 3,
		  .has_seed = true,
		  .seed = UINT64_MAX },
		{ .pid = 5,
		  .session = 2,
		  .index = 7,
		  .plane = 0,
		  .has_seed = true,
		  .seed = 0 },
	};
	char buf[FDX_PROVENANCE_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fdx_provenance p;
		int n = fdx_provenance_format(buf, sizeof(buf), &cases[i]);

		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq((size_t)n, strlen(buf));
		ck_assert_int_eq(fdx_provenance_parse(buf, &p), 0);
		ck_assert_uint_eq(p.pid, cases[i].pid);
		ck_assert_uint_eq(p.session, cases[i].session);
		ck_assert_uint_eq(p.index, cases[i].index);
		ck_assert_int_eq(p.plane, cases[i].plane);
		ck_assert_int_eq(p.has_seed, cases[i].has_seed);
		ck_assert_uint_eq(p.seed, cases[i].has_seed ? cases[i].seed : 0);
	}
}
END_TEST

START_TEST(exact_text)
{
	struct fdx_provenance p = { .pid = 7232,
				    .session = 1,
				    .index = 4,
				    .plane = 1,
				    .has_seed = true,
				    .seed = 0xbeef };
	char buf[FDX_PROVENANCE_MAX];

	ck_assert_int_eq(fdx_provenance_format(buf, sizeof(buf), &p), 20);
	ck_assert_str_eq(buf, "fdx:7232:1:4.1:sbeef");
	p.plane = -1;
	p.has_seed = false;
	fdx_provenance_format(buf, sizeof(buf), &p);
	ck_assert_str_eq(buf, "fdx:7232:1:4");
}
END_TEST

/* The longest possible name fits the documented maximum; one byte less does not. */
START_TEST(format_limits)
{
	struct fdx_provenance p = { .pid = UINT32_MAX,
				    .session = UINT32_MAX,
				    .index = UINT64_MAX,
				    .plane = 3,
				    .has_seed = true,
				    .seed = UINT64_MAX };
	char buf[FDX_PROVENANCE_MAX];
	int n = fdx_provenance_format(buf, sizeof(buf), &p);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdx_provenance_format(buf, (size_t)n, &p), -ENAMETOOLONG);
	ck_assert_int_eq(fdx_provenance_format(buf, (size_t)n + 1, &p), n);
	p.plane = 4; /* FDX_MAX_PLANES planes: 0..3 */
	ck_assert_int_eq(fdx_provenance_format(buf, sizeof(buf), &p), -EINVAL);
}
END_TEST

START_TEST(not_ours)
{
	static const char *const bad[] = {
		"",
		"fdx",
		"fdx:",
		"fdx:1",
		"fdx:1:2",
		"fdx:1:2:",
		"FDX:1:2:3",
		"memfd:fdx:1:2:3",
		"fdx:1:2:3 (deleted)", /* the census strips this before parsing */
		"fdx:-1:2:3",
		"fdx: 1:2:3",
		"fdx:+1:2:3",
		"fdx:4294967296:2:3", /* pid beyond 32 bits */
		"fdx:1:4294967296:3",
		"fdx:1:2:18446744073709551616", /* index beyond 64 bits */
		"fdx:1:2:3.",
		"fdx:1:2:3.4", /* plane beyond FDX_MAX_PLANES */
		"fdx:1:2:3.0.1",
		"fdx:1:2:3:",
		"fdx:1:2:3:s",
		"fdx:1:2:3:sXYZ",
		"fdx:1:2:3:sABC",		/* hex is lowercase */
		"fdx:1:2:3:s11112222333344445", /* 17 hex digits */
		"fdx:1:2:3:x1",
		"fdx:1:2:3x",
		"pipeline-frame-3",
	};
	struct fdx_provenance p = { .pid = 99 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fdx_provenance_parse(bad[i], &p) == -EINVAL, "'%s' parsed",
			      bad[i]);
	ck_assert_uint_eq(p.pid, 99); /* untouched on failure */
}
END_TEST

/* A shm object's file name: the buffer name and a random suffix. */
START_TEST(shm_file_names)
{
	struct fdx_provenance p;

	ck_assert_int_eq(fdx_provenance_parse_file("fdx:12:3:4:s1-0123456789abcdef", &p),
			 0);
	ck_assert_uint_eq(p.pid, 12);
	ck_assert_uint_eq(p.index, 4);
	ck_assert(p.has_seed && p.seed == 1);
	ck_assert_int_eq(fdx_provenance_parse_file("fdx:12:3:4.1-0123456789abcdef", &p), 0);
	ck_assert_int_eq(p.plane, 1);
	/* without the suffix, as a plain name */
	ck_assert_int_eq(fdx_provenance_parse_file("fdx:12:3:4", &p), 0);
	/* not quite a suffix */
	ck_assert_int_eq(fdx_provenance_parse_file("fdx:12:3:4-0123456789abcde", &p),
			 -EINVAL);
	ck_assert_int_eq(fdx_provenance_parse_file("fdx:12:3:4-0123456789ABCDEF", &p),
			 -EINVAL);
	ck_assert_int_eq(fdx_provenance_parse_file("fdx:12:3:4_0123456789abcdef", &p),
			 -EINVAL);
	ck_assert_int_eq(fdx_provenance_parse_file("x-0123456789abcdef", &p), -EINVAL);
	ck_assert_int_eq(fdx_provenance_parse_file("-0123456789abcdef", &p), -EINVAL);
}
END_TEST

static Suite *provenance_suite(void)
{
	Suite *s = suite_create("provenance");
	TCase *tc = tc_case("names");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, exact_text);
	tcase_add_test(tc, format_limits);
	tcase_add_test(tc, not_ours);
	tcase_add_test(tc, shm_file_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(provenance_suite());
}
