/* test-stats.c - the latency histogram: exact small values, bounded error, edge cases */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "stats.h"
#include "test-common.h"

static struct fdx_hist h; /* 10 KiB: kept off the stack */

START_TEST(empty)
{
	fdx_hist_init(&h);
	ck_assert_uint_eq(h.count, 0);
	ck_assert_uint_eq(fdx_hist_quantile(&h, 0.5), 0);
	ck_assert_uint_eq(fdx_hist_quantile(&h, 0.99), 0);
}
END_TEST

/* Below 64 ns every value has a bucket of its own. */
START_TEST(small_values_exact)
{
	fdx_hist_init(&h);
	for (uint64_t v = 0; v < 64; v++)
		fdx_hist_add(&h, v);
	ck_assert_uint_eq(h.count, 64);
	ck_assert_uint_eq(fdx_hist_quantile(&h, 0.5), 32);
	ck_assert_uint_eq(fdx_hist_quantile(&h, 0.0), 0);
	ck_assert_uint_eq(fdx_hist_quantile(&h, 1.0), 63);
	ck_assert_uint_eq(h.max_ns, 63);
}
END_TEST

/* Uniform samples: every percentile within 1% of the exact one. */
START_TEST(percentiles_within_one_percent)
{
	static const double qs[] = { 0.01, 0.1, 0.5, 0.9, 0.99, 0.999 };
	const uint64_t n = 200000, step = 37;

	fdx_hist_init(&h);
	for (uint64_t i = 1; i <= n; i++)
		fdx_hist_add(&h, i * step);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		double exact = qs[k] * (double)n * (double)step;
		double got = (double)fdx_hist_quantile(&h, qs[k]);

		ck_assert_msg(got > exact * 0.99 && got < exact * 1.01,
			      "q %.3f: %.0f, exact %.0f", qs[k], got, exact);
	}
	ck_assert_uint_eq(h.max_ns, n * step);
	ck_assert_uint_eq(h.min_ns, step);
}
END_TEST

/* One slow outlier shows in max and p99.99 but does not move p50. */
START_TEST(outlier)
{
	fdx_hist_init(&h);
	for (int i = 0; i < 9999; i++)
		fdx_hist_add(&h, 1000);
	fdx_hist_add(&h, 5000000000ull);
	ck_assert_uint_le(fdx_hist_quantile(&h, 0.5), 1010);
	ck_assert_uint_ge(fdx_hist_quantile(&h, 0.5), 990);
	ck_assert_uint_eq(h.max_ns, 5000000000ull);
	ck_assert_uint_eq(fdx_hist_quantile(&h, 1.0), 5000000000ull);
}
END_TEST

/* Past the last octave values are clamped to the last bucket, never out of bounds. */
START_TEST(huge_values)
{
	fdx_hist_init(&h);
	fdx_hist_add(&h, UINT64_MAX);
	fdx_hist_add(&h, 1ull << 50);
	ck_assert_uint_eq(h.count, 2);
	ck_assert_uint_eq(h.max_ns, UINT64_MAX);
	ck_assert_uint_le(fdx_hist_quantile(&h, 0.5), UINT64_MAX);
	ck_assert_uint_ge(fdx_hist_quantile(&h, 0.5), 1ull << 40);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tc_case("histogram");

	tcase_add_test(tc, empty);
	tcase_add_test(tc, small_values_exact);
	tcase_add_test(tc, percentiles_within_one_percent);
	tcase_add_test(tc, outlier);
	tcase_add_test(tc, huge_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(stats_suite());
}
