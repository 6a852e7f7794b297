/* object.h - what an OBJECT describes: build one (producer), map and check one (consumer)
 */
#ifndef FDX_OBJECT_H
#define FDX_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "codec.h"
#include "pattern.h"

/* Describe a raw buffer of size bytes holding the pattern for (seed, frame). */
void fdx_object_raw(struct fdx_object *o, uint64_t size, unsigned backend, uint64_t seed,
		    uint64_t frame);

/*
 * Validate and map the buffers of a received object: one struct fdx_buffer per fd in
 * bufs (room for FDX_MAX_PLANES), fds taken over (closed on failure, like every fd of
 * the message). On failure err says why, naming the object and the rule broken, e.g.
 * "buffer 3: size 4096 < 8294400 claimed". Returns 0 or -errno as fdx_buffer_import().
 */
int fdx_object_import(const struct fdx_object *o, int *fds, unsigned nfds,
		      struct fdx_buffer *bufs, char *err, size_t errcap);

/*
 * Check an imported object against its content descriptor. Returns the verdict
 * (enum fdx_verdict); r gives the first mismatch (as a byte offset in the object) and
 * the number of wrong bytes.
 */
unsigned fdx_object_verify(const struct fdx_object *o, const struct fdx_buffer *bufs,
			   struct fdx_verify_result *r);

/* Frames either side of the expected one searched to explain a mismatch. */
#define FDX_DIAG_WINDOW 1024u

/*
 * After a mismatch: say whether the object holds another frame (stale), two frames
 * (torn) or neither (corrupt), searching frames within window of the expected one.
 * Returns d->kind (enum fdx_diag_kind); FDX_DIAG_NONE for objects without a pattern.
 */
unsigned fdx_object_diagnose(const struct fdx_object *o, const struct fdx_buffer *bufs,
			     uint64_t window, struct fdx_diagnosis *d);

/* One line for people: "stale: holds frame 3, not 4", "torn: ...", "corrupt: ...". */
int fdx_diagnosis_describe(const struct fdx_diagnosis *d, char *buf, size_t cap);

#endif
