/* object.c - build an OBJECT for a buffer; import (validate + map) and verify received ones
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "object.h"

void fdx_object_raw(struct fdx_object *o, uint64_t size, unsigned backend, uint64_t seed,
		    uint64_t frame)
{
	memset(o, 0, sizeof(*o));
	o->kind = FDX_KIND_RAW;
	o->backend = (uint16_t)backend;
	o->nplanes = 1;
	o->content = FDX_CONTENT_PATTERN;
	o->size = size;
	o->seed = seed;
	o->frame = frame;
	o->planes[0].fd_index = 0;
	o->planes[0].offset = 0;
	o->planes[0].size = size;
}

int fdx_object_import(const struct fdx_object *o, int *fds, unsigned nfds,
		      struct fdx_buffer *bufs, char *err, size_t errcap)
{
	const struct fdx_plane *pl = &o->planes[0];
	char seals[64];
	int fd;
	int r;

	for (unsigned i = 0; i < FDX_MAX_PLANES; i++)
		bufs[i] = (struct fdx_buffer)FDX_BUFFER_INIT;
	if (o->backend == FDX_BACKEND_COPY && nfds == 0) {
		/* nothing shared: the frames will be copied into memory of our own */
		r = fdx_buffer_anon(&bufs[0], pl->size);
		if (r < 0)
			snprintf(err, errcap,
				 "cannot allocate copy buffer %" PRIu32 " (%" PRIu64
				 " bytes): %s",
				 o->index, pl->size, strerror(-r));
		return r;
	}
	if (o->kind != FDX_KIND_RAW || o->nplanes != 1 || nfds != 1) {
		fdx_close_fds(fds, nfds);
		snprintf(err, errcap,
			 "buffer %" PRIu32 ": image objects are not supported yet",
			 o->index);
		return -EOPNOTSUPP;
	}
	fd = fds[0];
	fds[0] = -1; /* the import owns it now, whatever happens */
	const char *kind = fdx_fd_kind(fd);

	r = fdx_buffer_import(&bufs[0], fd, pl->offset, pl->size, FDX_BUF_POPULATE);
	switch (r) {
	case 0:
		return 0;
	case -ENODEV:
		snprintf(err, errcap, "buffer %" PRIu32 ": fd is a %s, not a buffer",
			 o->index, kind);
		break;
	case -EBADF:
		snprintf(err, errcap,
			 "buffer %" PRIu32 ": fd is an O_PATH reference, not a buffer",
			 o->index);
		break;
	case -EOVERFLOW:
		snprintf(err, errcap,
			 "buffer %" PRIu32 ": offset %" PRIu64 " + size %" PRIu64
			 " is not a valid range",
			 o->index, pl->offset, pl->size);
		break;
	case -ERANGE:
		if (pl->offset)
			snprintf(err, errcap,
				 "buffer %" PRIu32 ": size %" PRIu64 " < %" PRIu64
				 " claimed at offset %" PRIu64,
				 o->index, bufs[0].file_size, pl->size, pl->offset);
		else
			snprintf(err, errcap,
				 "buffer %" PRIu32 ": size %" PRIu64 " < %" PRIu64
				 " claimed",
				 o->index, bufs[0].file_size, pl->size);
		break;
	case -EPERM:
		snprintf(err, errcap,
			 "buffer %" PRIu32 ": not sealed against shrinking (seals: %s)",
			 o->index, fdx_seals_str(bufs[0].seals, seals, sizeof(seals)));
		break;
	default:
		snprintf(err, errcap,
			 "cannot map buffer %" PRIu32 " (%" PRIu64 " bytes): %s", o->index,
			 pl->size, strerror(-r));
		break;
	}
	return r;
}

unsigned fdx_object_verify(const struct fdx_object *o, const struct fdx_buffer *bufs,
			   struct fdx_verify_result *r)
{
	struct fdx_pattern p;

	r->first_mismatch = FDX_NO_OFFSET;
	r->mismatched_bytes = 0;
	if (o->content != FDX_CONTENT_PATTERN || o->kind != FDX_KIND_RAW)
		return FDX_VERDICT_UNCHECKED;
	fdx_pattern_init(&p, o->seed, o->frame);
	if (fdx_pattern_verify(&p, bufs[0].map, bufs[0].length, 0, r))
		return FDX_VERDICT_MISMATCH;
	return FDX_VERDICT_OK;
}

unsigned fdx_object_diagnose(const struct fdx_object *o, const struct fdx_buffer *bufs,
			     uint64_t window, struct fdx_diagnosis *d)
{
	struct fdx_pattern p;

	memset(d, 0, sizeof(*d));
	d->verify.first_mismatch = FDX_NO_OFFSET;
	if (o->content != FDX_CONTENT_PATTERN || o->kind != FDX_KIND_RAW)
		return FDX_DIAG_NONE;
	fdx_pattern_init(&p, o->seed, o->frame);
	return fdx_pattern_diagnose(&p, bufs[0].map, bufs[0].length, 0, window, d);
}

int fdx_diagnosis_describe(const struct fdx_diagnosis *d, char *buf, size_t cap)
{
	switch (d->kind) {
	case FDX_DIAG_STALE:
		return snprintf(buf, cap,
				"stale: it holds frame %" PRIu64 ", not frame %" PRIu64,
				d->found, d->expected);
	case FDX_DIAG_TORN:
		return snprintf(buf, cap,
				"torn: frame %" PRIu64 " up to offset %" PRIu64
				", frame %" PRIu64 " from there on",
				d->head_frame, d->tear, d->tail_frame);
	case FDX_DIAG_CORRUPT:
		return snprintf(buf, cap,
				"corrupt: no frame near %" PRIu64 " holds these bytes",
				d->expected);
	}
	return snprintf(buf, cap, "no mismatch");
}
