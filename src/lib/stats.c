/* stats.c - log-linear latency histogram for stream round trips */
#include <string.h>

#include "stats.h"

void fdx_hist_init(struct fdx_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

/* Octave = position of the top bit; the next 6 bits pick the sub-bucket. */
static unsigned bucket_of(uint64_t ns)
{
	unsigned top, idx;

	if (ns < FDX_HIST_SUB)
		return (unsigned)ns; /* octave 0 holds 0..63 exactly */
	top = 63u - (unsigned)__builtin_clzll(ns);
	idx = (top - 5u) * FDX_HIST_SUB +
	      (unsigned)((ns >> (top - 6u)) & (FDX_HIST_SUB - 1));
	return idx < FDX_HIST_BUCKETS ? idx : FDX_HIST_BUCKETS - 1;
}

/* The middle of what a bucket holds, which halves the worst error of its floor. */
static uint64_t bucket_mid(unsigned b)
{
	unsigned octave = b / FDX_HIST_SUB, sub = b % FDX_HIST_SUB;

	if (octave == 0)
		return sub;
	return ((uint64_t)(FDX_HIST_SUB + sub) << (octave - 1)) +
	       ((1ull << (octave - 1)) >> 1);
}

void fdx_hist_add(struct fdx_hist *h, uint64_t ns)
{
	h->bucket[bucket_of(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
}

uint64_t fdx_hist_quantile(const struct fdx_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min_ns;
	if (q >= 1)
		return h->max_ns;
	rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	for (unsigned b = 0; b < FDX_HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen > rank) {
			uint64_t v = bucket_mid(b);

			/* never report outside what was seen */
			return v < h->min_ns ? h->min_ns : v > h->max_ns ? h->max_ns : v;
		}
	}
	return h->max_ns;
}
