/* object.h - an object and the buffers that hold it: make and fill one (producer), import,
 * verify and diagnose one (consumer) */
#ifndef FDX_OBJECT_H
#define FDX_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "buffer.h"
#include "codec.h"
#include "pattern.h"
#include "provenance.h"

/*
 * Byte positions. An object's bytes are its planes one after the other, in plane order:
 * byte k of plane i is at position (size of planes 0..i-1) + k, whatever fd and offset
 * the plane lives at. The pattern of an object is the pattern stream at those positions
 * (padding included), and every mismatch offset fdx reports is such a position. For the
 * layouts fdx makes (fdx_image_layout) a position is also the offset in the object's
 * first fd, since their planes follow each other without gaps.
 */

/* An object as described on the wire, with one buffer per fd, mapped. */
struct fdx_held {
	struct fdx_object obj;
	struct fdx_buffer bufs[FDX_MAX_PLANES]; /* bufs[i] holds the planes of fd i */
	unsigned nbufs;
};

/* Empty: every buffer without fd or mapping, safe to release. */
void fdx_held_init(struct fdx_held *h);

/* Describe a raw buffer of size bytes holding the pattern for (seed, frame). */
void fdx_object_raw(struct fdx_object *o, uint64_t size, unsigned backend, uint64_t seed,
		    uint64_t frame);

/*
 * Producer: allocate what o describes, one memfd per fd (as large as the planes in it
 * reach), named after prov (its plane field is set per fd when there are several),
 * mapped read-write; h->obj becomes *o. A copy object (FDX_BACKEND_COPY) also gets one
 * memfd: the producer's own memory, whose bytes it sends as DATA. flags as
 * fdx_buffer_create(). Returns 0 or -errno; h is empty on failure.
 */
int fdx_held_create(struct fdx_held *h, const struct fdx_object *o,
		    const struct fdx_provenance *prov, unsigned flags);

/*
 * The same with the buffers of spec (NULL: memfd), each fd's made by
 * fdx_backend_create(); o->backend should say the same. On failure err says what failed
 * and why, after the backend's name: "dma-heap: /dev/dma_heap/system: No such file or
 * directory (this kernel or board has no DMA-BUF heaps)".
 */
int fdx_held_make(struct fdx_held *h, const struct fdx_object *o,
		  const struct fdx_provenance *prov, const struct fdx_backend_spec *spec,
		  unsigned flags, char *err, size_t errcap);

/*
 * Bracket the CPU's access to h (fdx_buffer_cpu_begin/end on every buffer): DMA-BUFs
 * need it, the others ignore it. end is called for every buffer even after an error.
 */
int fdx_held_cpu_begin(const struct fdx_held *h, bool write);
int fdx_held_cpu_end(const struct fdx_held *h, bool write);

/* Can any buffer of h shrink under its mapping (fdx_buffer_may_shrink)? Reads of such an
 * object belong under a SIGBUS guard. */
bool fdx_held_may_shrink(const struct fdx_held *h);

/* The kind of h's buffers (enum fdx_buf_kind: fdx's objects have one kind throughout). */
unsigned fdx_held_kind(const struct fdx_held *h);

/* Seal every buffer (fdx_buffer_seal). */
int fdx_held_seal(struct fdx_held *h);

/* The fds an OBJECT message carries for h, in fd_index order: 0 for copy objects. */
unsigned fdx_held_fds(const struct fdx_held *h, int fds[FDX_MAX_PLANES]);

/*
 * Consumer: validate the nfds fds received with o and map them (read-only). Takes
 * ownership of every fd (the slots are set to -1, whatever happens). Each fd is checked
 * before anything is mapped: a buffer of the kind o->backend makes (memfd: a memfd;
 * memfd-huge: a memfd on hugetlbfs; shm: a tmpfs file; tmpfile: a tmpfs or other regular
 * file; dma-heap and udmabuf: a DMA-BUF -- else -EMEDIUMTYPE, "buffer 0: the OBJECT says
 * dma-heap, fd 0 is a memfd"), sealed against shrinking (a DMA-BUF cannot shrink; shm
 * and tmpfile cannot be sealed and are taken unsealed with FDX_BUF_GUARDED), large
 * enough for the planes in it, and for an image a layout that fits (fdx_image_check) --
 * with checked 64-bit arithmetic throughout. A copy object gets private memory instead. On
 * failure err names the object and the broken rule, e.g. "buffer 3: size 4096 < 8294400
 * claimed", "buffer 2: plane 1: stride 960 < 1920 row bytes", "buffer 0: fd 1 is a pipe,
 * not a buffer". Errors as fdx_buffer_import(), and for layouts as fdx_image_check()
 * except that a description that contradicts itself is -EPROTO (the peer's fault), not
 * -EINVAL; -EBADFD when the fds do not match the planes.
 */
int fdx_held_import(struct fdx_held *h, const struct fdx_object *o, int *fds, unsigned nfds,
		    unsigned flags, char *err, size_t errcap);

/* First byte of plane i, wherever its fd is mapped; NULL for a plane o does not have. */
uint8_t *fdx_held_plane(const struct fdx_held *h, unsigned plane);

/* The byte at object position pos; NULL at or past the end. */
uint8_t *fdx_held_at(const struct fdx_held *h, uint64_t pos);

/* Write the pattern p into positions [from, to) (clipped to the object): every plane,
 * padding included. */
void fdx_held_fill(struct fdx_held *h, const struct fdx_pattern *p, uint64_t from,
		   uint64_t to);

/*
 * XXH3-64 (seed 0) of the object's pixel bytes: plane by plane, each row's pixel bytes
 * without the padding after them; for a raw object, all its bytes. Returns 0, or -EINVAL
 * when a plane is missing.
 */
int fdx_held_checksum(const struct fdx_held *h, uint64_t *sum);

/* Wrong bytes of one plane, told apart: pixels, and padding (after a row's pixels). */
struct fdx_plane_result {
	uint64_t first_mismatch; /* object position, FDX_NO_OFFSET if none */
	uint64_t pixel_bytes;
	uint64_t padding_bytes;
};

struct fdx_object_result {
	unsigned verdict;		/* enum fdx_verdict */
	struct fdx_verify_result total; /* first wrong position and wrong bytes */
	struct fdx_plane_result planes[FDX_MAX_PLANES]; /* pattern content only */
	uint64_t checksum; /* checksum content: what the pixel bytes hash to */
};

/*
 * Check h against its content descriptor (h->obj.seed and frame, or checksum). Pattern:
 * every byte of every plane, padding included; planes and padding counted apart only
 * when something is wrong. Checksum: the hash of the pixel bytes; a mismatch has no
 * offset (total.first_mismatch FDX_NO_OFFSET, mismatched_bytes 0). Returns r->verdict;
 * UNCHECKED for content NONE or a checksum that cannot be computed.
 */
unsigned fdx_held_verify(const struct fdx_held *h, struct fdx_object_result *r);

/* Frames either side of the expected one searched to explain a mismatch. */
#define FDX_DIAG_WINDOW 1024u

/*
 * After a mismatch of a pattern object: does it hold another frame (stale), two frames
 * split at a position (torn, across planes too) or neither (corrupt)? Frames within
 * window of the expected one are searched. Returns d->kind; FDX_DIAG_NONE for objects
 * without a pattern or without a mismatch.
 */
unsigned fdx_held_diagnose(const struct fdx_held *h, uint64_t window,
			   struct fdx_diagnosis *d);

/*
 * The same over any memory: planes[i] is the first byte of plane i of o, or NULL for a
 * plane that is not at hand (a verifier given one plane's fd of an object with an fd per
 * plane). Missing planes are skipped: their bytes keep their positions but are neither
 * checked nor counted (the verdict is UNCHECKED when none is at hand). A checksum needs
 * every plane (-EINVAL otherwise).
 */
int fdx_object_checksum(const struct fdx_object *o, const uint8_t *const *planes,
			uint64_t *sum);
unsigned fdx_object_verify(const struct fdx_object *o, const uint8_t *const *planes,
			   struct fdx_object_result *r);
unsigned fdx_object_diagnose(const struct fdx_object *o, const uint8_t *const *planes,
			     uint64_t window, struct fdx_diagnosis *d);

/*
 * Which frame of the pattern of o->seed do the planes hold? Probes 16 bytes at the start,
 * middle and end of every plane at hand for frames near guess (within FDX_DIAG_WINDOW),
 * then the start and middle of the first plane at hand for frames 0 .. limit-1. A probe
 * that matches names the frame (a wrong frame matches 16 bytes one time in 2^128). Returns
 * 0 with *frame set, -ENOENT when no frame matched anywhere, -EINVAL when no plane is at
 * hand or large enough to probe.
 */
int fdx_object_find_frame(const struct fdx_object *o, const uint8_t *const *planes,
			  uint64_t guess, uint64_t limit, uint64_t *frame);

/* Unmap and close everything; h is empty afterwards. */
void fdx_held_release(struct fdx_held *h);

/* One line for people: "stale: holds frame 3, not 4", "torn: ...", "corrupt: ...". */
int fdx_diagnosis_describe(const struct fdx_diagnosis *d, char *buf, size_t cap);

/* "1920x1080 nv12" for an image, "raw" for a raw object. */
const char *fdx_object_shape(const struct fdx_object *o, char *buf, size_t cap);

#endif
