/* dump.h - received objects written to files people can open: PNM for images, the raw
 * bytes otherwise */
#ifndef FDX_DUMP_H
#define FDX_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "object.h"

/*
 * Write h to DIR/STEM.EXT: a U8 image as an 8-bit PGM, U16 as a 16-bit PGM, any other
 * image as a PPM (YUV converted to RGB), a raw object as its bytes (.bin), planes in
 * order. The path is written to path. Nothing is left behind on failure. Returns 0 or
 * -errno.
 */
int dump_held(const char *dir, const char *stem, const struct fdx_held *h, char *path,
	      size_t pathcap);

/* Make DIR when it is missing (not its parents); -ENOTDIR when it is something else. */
int dump_prepare_dir(const char *dir);

/* What a consumer dumps (--dump, --dump-every), and how it went. */
struct dump_plan {
	const char *dir; /* NULL: nothing is dumped */
	const char
		*prefix; /* before every file name: "c2-" for serve --receive's client 2 */
	uint64_t every;	 /* stream frames: the 1st, then every Nth received */
	uint64_t seen;	 /* stream frames received so far */
	uint64_t written;
	uint64_t failed; /* dumps that could not be written; each said so on stderr */
};

/* Object h as received: DIR/PREFIXobject-NNNN.EXT. */
void dump_object(struct dump_plan *d, const struct fdx_held *h);

/* Frame h->obj.frame of a stream, if it is its turn: DIR/PREFIXframe-NNNNNNNN.EXT. */
void dump_frame(struct dump_plan *d, const struct fdx_held *h);

/* Is it the turn of the next frame to be dumped (so that dump_frame() will read it)? */
bool dump_frame_due(const struct dump_plan *d);

#endif
