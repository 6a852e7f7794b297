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
