/* bench-pattern.c - pattern fill/verify bandwidth as ratios of memset/read-scan, same run
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "codec.h"
#include "pattern.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The baseline for verify: the cheapest full read of every word, vectorised like the
 * pattern loops are (a scalar baseline would flatter the ratio).
 */
#if defined(__GNUC__) && !defined(__clang__)
#define BENCH_VECTOR                                                                       \
	__attribute__((noinline,                                                           \
		       optimize("tree-loop-vectorize", "vect-cost-model=dynamic")))
#else
#define BENCH_VECTOR __attribute__((noinline))
#endif
static BENCH_VECTOR uint64_t read_scan(const uint64_t *p, size_t n)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc ^= p[i];
	return acc;
}

enum { MEMSET, READ, FILL, VERIFY, NKIND };
static const char *const kind_names[NKIND] = { "memset", "read-scan", "pattern fill",
					       "pattern verify" };

int main(int argc, char **argv)
{
	size_t size = (argc > 1 ? strtoull(argv[1], NULL, 0) : 64) << 20;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	double best[NKIND];
	struct fdx_pattern pat;
	struct fdx_verify_result vr;
	volatile uint64_t sink = 0;
	uint8_t *buf;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		perror("bench-pattern: mmap");
		return 1;
	}
	fdx_pattern_init(&pat, 1, 0);
	for (int k = 0; k < NKIND; k++)
		best[k] = 1e9;
	/* interleave the kinds in every round so that noise hits them alike */
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < NKIND; k++) {
			double t0 = now();

			switch (k) {
			case MEMSET:
				memset(buf, r, size);
				break;
			case READ:
				sink ^= read_scan((const uint64_t *)buf, size / 8);
				break;
			case FILL:
				fdx_pattern_fill(&pat, buf, size, 0);
				break;
			case VERIFY:
				if (fdx_pattern_verify(&pat, buf, size, 0, &vr) != 0) {
					fprintf(stderr,
						"bench-pattern: verify found a mismatch\n");
					return 1;
				}
				break;
			}
			double dt = now() - t0;

			if (dt < best[k])
				best[k] = dt;
		}
	}
	printf("buffer %zu MiB, best of %d rounds\n", size >> 20, rounds);
	for (int k = 0; k < NKIND; k++)
		printf("  %-15s %6.2f GB/s\n", kind_names[k], (double)size / best[k] / 1e9);
	double fill_ratio = best[MEMSET] / best[FILL];
	double verify_ratio = best[READ] / best[VERIFY];

	printf("fill / memset      = %.2f (target >= 0.70) %s\n", fill_ratio,
	       fill_ratio >= 0.70 ? "met" : "NOT MET");
	printf("verify / read-scan = %.2f (target >= 0.70) %s\n", verify_ratio,
	       verify_ratio >= 0.70 ? "met" : "NOT MET");
	munmap(buf, size);
	return 0;
}
