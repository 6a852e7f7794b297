/* backend.h - the kinds of shared buffer a producer makes: memfd, memfd-huge, POSIX shm,
 * O_TMPFILE, DMA-BUF heap and udmabuf */
#ifndef FDX_BACKEND_H
#define FDX_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"

#define FDX_DMA_HEAP_DIR   "/dev/dma_heap"
#define FDX_DMA_HEAP_NAME  "system" /* the heap every kernel with heaps has */
#define FDX_UDMABUF_DEVICE "/dev/udmabuf"

/* Which backend, and its settings. */
struct fdx_backend_spec {
	unsigned backend; /* enum fdx_backend, not FDX_BACKEND_COPY */
	const char *heap; /* dma-heap: the heap under /dev/dma_heap; NULL: "system" */
	const char *dir; /* tmpfile: the directory; NULL: /dev/shm, or /tmp if it refuses */
	uint64_t page;	 /* learnt by fdx_backend_probe: buffers are whole pages of this */
};

/*
 * Parse a --backend value: memfd, memfd-huge, shm, tmpfile, dma-heap[:NAME], udmabuf.
 * spec->heap points into s. Returns 0, or -EINVAL for anything else (an empty heap
 * name, or one with a '/', included).
 */
int fdx_backend_parse(const char *s, struct fdx_backend_spec *spec);

/* "memfd, memfd-huge, shm, tmpfile, dma-heap[:NAME], udmabuf", for messages. */
const char *fdx_backend_list(void);

/* True for the backends whose buffers can be sealed (memfd, memfd-huge). */
bool fdx_backend_sealable(unsigned backend);

/*
 * Can this machine make buffers as spec says? Tries on a small scale what creation
 * needs: the heap or the udmabuf device opens, /dev/shm takes a shm object, a directory
 * takes O_TMPFILE (spec->dir is set to the one that did), one huge page can be had; sets
 * spec->page. Returns 0, or -errno with why naming what is missing, e.g.
 * "/dev/dma_heap/system: No such file or directory (this kernel or board has no DMA-BUF
 * heaps)" or "no free huge pages (HugePages_Free 0 of 0, 2048 kB each)".
 */
int fdx_backend_probe(struct fdx_backend_spec *spec, char *why, size_t whycap);

/* The bytes a buffer of size bytes takes with spec: rounded up to whole spec->page
 * (the system page when it is not known yet). -EOVERFLOW when that does not fit. */
int fdx_backend_round(const struct fdx_backend_spec *spec, uint64_t size, uint64_t *out);

/*
 * Make a buffer of spec for at least size bytes (rounded as fdx_backend_round), named
 * name where the kind has names (memfd name, part of the shm name, DMA_BUF_SET_NAME cut
 * to DMA_BUF_NAME_LEN - 1), allocated up front and mapped read-write; not sealed yet
 * (fdx_buffer_seal). A shm object is unlinked before this returns; a tmpfile never has a
 * name. Returns 0, or -errno with why saying what failed, on what, and why: -ENOMEM
 * "no free huge pages (...)", -ENOENT "/dev/udmabuf: No such file or directory (...)".
 */
int fdx_backend_create(struct fdx_buffer *b, const struct fdx_backend_spec *spec,
		       const char *name, uint64_t size, unsigned flags, char *why,
		       size_t whycap);

/* Huge pages as /proc/meminfo counts them: free, total, and their size in bytes. */
int fdx_huge_pages(uint64_t *free, uint64_t *total, uint64_t *size);

#endif
