/* pattern.c - seeded counter-based pattern: word i of frame f = mix(key(seed, f) + i*G) */
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "pattern.h"

#define GOLDEN 0x9e3779b97f4a7c15ull

/* splitmix64's finaliser: full avalanche, used once per buffer to derive the key */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void fdx_pattern_init(struct fdx_pattern *p, uint64_t seed, uint64_t frame)
{
	p->seed = seed;
	p->frame = frame;
	p->key = mix64(seed ^ mix64(frame + GOLDEN));
}

/*
 * Per word a single multiply: the key already carries the full mixing of seed and frame,
 * so neighbouring words only need to look unrelated, and this keeps fill and verify near
 * memory speed.
 */
static inline uint64_t word_at(uint64_t key, uint64_t i)
{
	uint64_t x = key + i * GOLDEN;

	x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
	return x ^ (x >> 32);
}

uint64_t fdx_pattern_word(const struct fdx_pattern *p, uint64_t i)
{
	return word_at(p->key, i);
}

static inline uint8_t byte_at(uint64_t key, uint64_t pos)
{
	return (uint8_t)(word_at(key, pos / 8) >> (8 * (pos % 8)));
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                     \
	!defined(__SANITIZE_ADDRESS__)
#define FDX_CLONES                                                                         \
	__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"),                 \
		       optimize("tree-loop-vectorize", "vect-cost-model=dynamic")))
#elif defined(__GNUC__) && !defined(__clang__)
/* -O2's "very cheap" vectoriser cost model gives up on these loops; they pay off */
#define FDX_CLONES                                                                         \
	__attribute__((optimize("tree-loop-vectorize", "vect-cost-model=dynamic")))
#else
#define FDX_CLONES
#endif

/* Whole words from word index w: the hot loop, kept simple so the compiler vectorises it.
 */
FDX_CLONES static void fill_words(uint64_t key, uint64_t *restrict dst, size_t n,
				  uint64_t w)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = htole64(word_at(key, w + k));
}

void fdx_pattern_fill(const struct fdx_pattern *p, void *dst, size_t len, uint64_t pos)
{
	uint8_t *d = dst;
	size_t head = (8 - pos % 8) % 8;

	if (head > len)
		head = len;
	for (size_t k = 0; k < head; k++)
		d[k] = byte_at(p->key, pos + k);
	d += head;
	len -= head;
	pos += head;

	size_t words = len / 8;
	/* mmap'd buffers are page aligned, so the aligned path is the common one */
	if (((uintptr_t)d % 8) == 0) {
		fill_words(p->key, (uint64_t *)(void *)d, words, pos / 8);
	} else {
		for (size_t k = 0; k < words; k++) {
			uint64_t v = htole64(word_at(p->key, pos / 8 + k));

			memcpy(d + 8 * k, &v, 8);
		}
	}
	d += 8 * words;
	pos += 8 * words;
	for (size_t k = 0; k < len % 8; k++)
		d[k] = byte_at(p->key, pos + k);
}

/* OR of the differences over n words: zero when all match, so the loop has no branch. */
FDX_CLONES static uint64_t diff_words(uint64_t key, const uint64_t *restrict src, size_t n,
				      uint64_t w)
{
	uint64_t acc = 0;

	for (size_t k = 0; k < n; k++)
		acc |= le64toh(src[k]) ^ word_at(key, w + k);
	return acc;
}

static uint64_t load_word(const uint8_t *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	return le64toh(v);
}

/* Slow path for a block known to differ: count the wrong bytes and note the first. */
static void count_block(uint64_t key, const uint8_t *s, size_t len, uint64_t pos,
			uint64_t rel, struct fdx_verify_result *r)
{
	for (size_t k = 0; k < len; k++) {
		if (s[k] == byte_at(key, pos + k))
			continue;
		if (r->first_mismatch == FDX_NO_OFFSET)
			r->first_mismatch = rel + k;
		r->mismatched_bytes++;
	}
}

#define BLOCK_WORDS 512 /* 4 KiB: small enough to rescan, large enough to stream */

int fdx_pattern_verify(const struct fdx_pattern *p, const void *src, size_t len,
		       uint64_t pos, struct fdx_verify_result *r)
{
	const uint8_t *s = src;
	size_t head = (8 - pos % 8) % 8;
	uint64_t rel = 0;

	r->first_mismatch = FDX_NO_OFFSET;
	r->mismatched_bytes = 0;
	if (head > len)
		head = len;
	count_block(p->key, s, head, pos, rel, r);
	rel += head;

	size_t words = (len - head) / 8;
	bool aligned = ((uintptr_t)(s + rel) % 8) == 0;

	for (size_t done = 0; done < words;) {
		size_t n = words - done < BLOCK_WORDS ? words - done : BLOCK_WORDS;
		uint64_t w = (pos + rel) / 8;
		uint64_t diff = 0;

		if (aligned) {
			diff = diff_words(p->key, (const uint64_t *)(const void *)(s + rel),
					  n, w);
		} else {
			for (size_t k = 0; k < n; k++)
				diff |= load_word(s + rel + 8 * k) ^ word_at(p->key, w + k);
		}
		if (diff)
			count_block(p->key, s + rel, 8 * n, pos + rel, rel, r);
		rel += 8 * n;
		done += n;
	}
	count_block(p->key, s + rel, len - rel, pos + rel, rel, r);
	return r->mismatched_bytes ? 1 : 0;
}

/* Does frame f's pattern hold every byte of src[from, to)? */
static bool holds(uint64_t seed, uint64_t f, const uint8_t *src, uint64_t pos,
		  uint64_t from, uint64_t to)
{
	struct fdx_pattern q;
	struct fdx_verify_result r;

	fdx_pattern_init(&q, seed, f);
	return fdx_pattern_verify(&q, src + from, (size_t)(to - from), pos + from, &r) == 0;
}

/* Does frame f's pattern hold src[from, to)? Bytewise: for short probes only. */
static bool probe_holds(uint64_t seed, uint64_t f, const uint8_t *src, uint64_t pos,
			uint64_t from, uint64_t to)
{
	struct fdx_pattern q;

	fdx_pattern_init(&q, seed, f);
	for (uint64_t i = from; i < to; i++)
		if (src[i] != byte_at(q.key, pos + i))
			return false;
	return true;
}

/* First offset in [from, len) where frame f stops holding, len if it holds to the end. */
static uint64_t holds_until(uint64_t seed, uint64_t f, const uint8_t *src, size_t len,
			    uint64_t pos, uint64_t from)
{
	struct fdx_pattern q;
	struct fdx_verify_result r;

	fdx_pattern_init(&q, seed, f);
	if (fdx_pattern_verify(&q, src + from, len - (size_t)from, pos + from, &r) == 0)
		return len;
	return from + r.first_mismatch;
}

/*
 * Can frame other explain a region whose expected frame holds up to first? Either other
 * holds from first to the end (stale if it holds before first too, else torn at first),
 * or other holds from 0 and the expected frame takes over later (torn the other way).
 */
/*
 * Fewer bytes than this from another frame prove nothing: among 2 * window candidates,
 * some frame matches a byte or two by chance. Eight bytes leave 2 * window / 2^64.
 */
#define MIN_EXPLAINED 8

static bool explain(const struct fdx_pattern *p, uint64_t other, const uint8_t *s,
		    size_t len, uint64_t pos, uint64_t first, struct fdx_diagnosis *d)
{
	uint64_t end = holds_until(p->seed, other, s, len, pos, first);

	d->found = other;
	if (end == len && len - first >= MIN_EXPLAINED) {
		/* leading bytes that agree with both frames do not make it torn */
		if (first == 0 || holds(p->seed, other, s, pos, 0, first)) {
			d->kind = FDX_DIAG_STALE;
			return true;
		}
		d->kind = FDX_DIAG_TORN;
		d->tear = first;
		d->head_frame = p->frame;
		d->tail_frame = other;
		return true;
	}
	if (first == 0 && end >= MIN_EXPLAINED &&
	    holds(p->seed, p->frame, s, pos, end, len)) {
		d->kind = FDX_DIAG_TORN;
		d->tear = end;
		d->head_frame = other;
		d->tail_frame = p->frame;
		return true;
	}
	return false;
}

/* Probe this many bytes: one alone would match a wrong frame one time in 256. */
#define PROBE_BYTES 16

unsigned fdx_pattern_diagnose(const struct fdx_pattern *p, const void *src, size_t len,
			      uint64_t pos, uint64_t window, struct fdx_diagnosis *d)
{
	const uint8_t *s = src;
	uint64_t first, probe_end;

	memset(d, 0, sizeof(*d));
	d->expected = p->frame;
	if (fdx_pattern_verify(p, src, len, pos, &d->verify) == 0)
		return d->kind = FDX_DIAG_NONE;
	first = d->verify.first_mismatch;
	probe_end = len - first < PROBE_BYTES ? len : first + PROBE_BYTES;
	/* nearest first: f-1, f+1, f-2, f+2, ... (a stale buffer is usually just behind) */
	for (uint64_t k = 1; k <= window; k++) {
		uint64_t cand[2] = { p->frame - k, p->frame + k };
		bool valid[2] = { p->frame >= k, p->frame <= UINT64_MAX - k };

		for (int i = 0; i < 2; i++) {
			if (!valid[i] ||
			    !probe_holds(p->seed, cand[i], s, pos, first, probe_end))
				continue;
			if (explain(p, cand[i], s, len, pos, first, d))
				return d->kind;
		}
	}
	d->found = 0;
	return d->kind = FDX_DIAG_CORRUPT;
}

const char *fdx_diag_name(unsigned kind)
{
	switch (kind) {
	case FDX_DIAG_NONE:
		return "none";
	case FDX_DIAG_STALE:
		return "stale";
	case FDX_DIAG_TORN:
		return "torn";
	case FDX_DIAG_CORRUPT:
		return "corrupt";
	}
	return "unknown";
}
