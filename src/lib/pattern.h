/* pattern.h - the seeded, position-addressable test pattern: fill and fused verify */
#ifndef FDX_PATTERN_H
#define FDX_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The 64-bit little-endian word at byte position 8*i of frame f is a pure function of
 * (seed, f, i), so any word can be produced or checked on its own. A region that starts
 * or ends inside a word holds the matching bytes of that word, which makes sizes that are
 * not a multiple of 8 exact. fdx-protocol(7) gives the function so other peers can
 * produce it.
 */

struct fdx_pattern {
	uint64_t key; /* derived from seed and frame by fdx_pattern_init() */
	uint64_t seed;
	uint64_t frame;
};

struct fdx_verify_result {
	uint64_t first_mismatch; /* byte offset from the region start, FDX_NO_OFFSET if none
				  */
	uint64_t mismatched_bytes; /* bytes that differ from the pattern */
};

void fdx_pattern_init(struct fdx_pattern *p, uint64_t seed, uint64_t frame);

/* The pattern word with index i (bytes 8*i .. 8*i+7 of the stream). */
uint64_t fdx_pattern_word(const struct fdx_pattern *p, uint64_t i);

/* Fill len bytes at dst with the pattern bytes that belong at stream position pos. */
void fdx_pattern_fill(const struct fdx_pattern *p, void *dst, size_t len, uint64_t pos);

/*
 * Compare len bytes at src with the pattern from stream position pos. Returns 0 when
 * every byte matches, 1 when some differ; r (always filled) says where and how many.
 */
int fdx_pattern_verify(const struct fdx_pattern *p, const void *src, size_t len,
		       uint64_t pos, struct fdx_verify_result *r);

/* What a mismatch looks like, for people: see fdx_pattern_diagnose(). */
enum fdx_diag_kind {
	FDX_DIAG_NONE = 0, /* no mismatch */
	FDX_DIAG_STALE,	   /* the whole region holds another frame */
	FDX_DIAG_TORN,	   /* one frame up to an offset, another frame from there on */
	FDX_DIAG_CORRUPT,  /* bytes that belong to no frame nearby */
};

struct fdx_diagnosis {
	unsigned kind;	     /* enum fdx_diag_kind */
	uint64_t expected;   /* the frame the region should hold */
	uint64_t found;	     /* STALE, TORN: the other frame seen */
	uint64_t tear;	     /* TORN: first byte offset where the second frame holds */
	uint64_t head_frame; /* TORN: the frame before the tear (expected or found) */
	uint64_t tail_frame; /* TORN: the frame from the tear on */
	struct fdx_verify_result verify; /* first mismatch and count against expected */
};

/*
 * Explain why src does not hold the pattern of p (seed, frame): look for a frame within
 * window of p->frame whose pattern matches where p's does not, and decide between stale,
 * torn and corrupt. Costs nothing extra when src is right (one verify pass); on a
 * mismatch, up to two more passes and 2 * window short probes. Another frame must
 * account for at least 8 bytes to be named: fewer could match by chance. Returns d->kind.
 */
unsigned fdx_pattern_diagnose(const struct fdx_pattern *p, const void *src, size_t len,
			      uint64_t pos, uint64_t window, struct fdx_diagnosis *d);

const char *fdx_diag_name(unsigned kind);

#endif
