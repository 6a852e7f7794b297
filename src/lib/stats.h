/* stats.h - a fixed-size latency histogram: record without allocating, read percentiles */
#ifndef FDX_STATS_H
#define FDX_STATS_H

#include <stdint.h>

/*
 * Log-linear buckets: 64 per power of two of nanoseconds, so a percentile is exact to
 * about 1.1%, from 1 ns up to 2^40 ns (18 minutes); longer samples land in the last
 * bucket, max stays exact. Recording is a few instructions and never allocates, so it
 * can sit in a stream's hot loop.
 */
#define FDX_HIST_SUB	 64u
#define FDX_HIST_OCTAVES 41u
#define FDX_HIST_BUCKETS (FDX_HIST_SUB * FDX_HIST_OCTAVES)

struct fdx_hist {
	uint64_t count;
	uint64_t max_ns;
	uint64_t min_ns;
	uint64_t sum_ns;
	uint32_t bucket[FDX_HIST_BUCKETS];
};

void fdx_hist_init(struct fdx_hist *h);
void fdx_hist_add(struct fdx_hist *h, uint64_t ns);

/* The value (ns) below which a fraction q (0..1) of the samples lie; 0 when empty. */
uint64_t fdx_hist_quantile(const struct fdx_hist *h, double q);

#endif
