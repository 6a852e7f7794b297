/* object.c - objects and their buffers: create, import (validate + map), fill, verify,
 * checksum and diagnose, across planes and fds */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
/* XXH3_state_t by value (on the stack) */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "backend.h"
#include "channel.h"
#include "image.h"
#include "macro.h"
#include "object.h"

void fdx_held_init(struct fdx_held *h)
{
	memset(&h->obj, 0, sizeof(h->obj));
	for (unsigned i = 0; i < FDX_MAX_PLANES; i++)
		h->bufs[i] = (struct fdx_buffer)FDX_BUFFER_INIT;
	h->nbufs = 0;
}

void fdx_held_release(struct fdx_held *h)
{
	for (unsigned i = 0; i < FDX_MAX_PLANES; i++)
		fdx_buffer_release(&h->bufs[i]);
	h->nbufs = 0;
}

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
	o->planes[0].size = size;
}

/* Position of plane i's first byte: the planes before it, back to back. */
static uint64_t plane_pos(const struct fdx_object *o, unsigned i)
{
	uint64_t pos = 0;

	/* the codec and the layout checks proved that the sum fits */
	for (unsigned k = 0; k < i; k++)
		pos += o->planes[k].size;
	return pos;
}

int fdx_held_create(struct fdx_held *h, const struct fdx_object *o,
		    const struct fdx_provenance *prov, unsigned flags)
{
	char why[256];

	return fdx_held_make(h, o, prov, NULL, flags, why, sizeof(why));
}

int fdx_held_make(struct fdx_held *h, const struct fdx_object *o,
		  const struct fdx_provenance *prov, const struct fdx_backend_spec *spec,
		  unsigned flags, char *err, size_t errcap)
{
	const struct fdx_backend_spec memfd = { .backend = FDX_BACKEND_MEMFD };
	uint64_t sizes[FDX_MAX_PLANES];
	struct fdx_provenance p = *prov;
	char name[FDX_PROVENANCE_MAX];
	unsigned nfds;
	int r;

	fdx_held_init(h);
	err[0] = '\0';
	/* a copy object's memory is the producer's own: a memfd, whatever was asked */
	if (!spec || o->backend == FDX_BACKEND_COPY)
		spec = &memfd;
	r = fdx_image_fd_sizes(o, sizes, &nfds);
	if (r < 0 || nfds == 0) {
		snprintf(err, errcap, "buffer %" PRIu32 ": planes out of range", o->index);
		return r < 0 ? r : -EINVAL;
	}
	for (unsigned i = 0; i < nfds; i++) {
		char why[200];

		p.plane = nfds > 1 ? (int)i : -1;
		r = fdx_provenance_format(name, sizeof(name), &p);
		if (r < 0) {
			snprintf(err, errcap, "buffer %" PRIu32 ": cannot name it: %s",
				 o->index, strerror(-r));
			goto fail;
		}
		r = fdx_backend_create(&h->bufs[i], spec, name, sizes[i], flags, why,
				       sizeof(why));
		if (r < 0) {
			snprintf(err, errcap, "%s: %s", fdx_backend_name(spec->backend),
				 why);
			goto fail;
		}
	}
	h->obj = *o;
	h->nbufs = nfds;
	return 0;
fail:
	fdx_held_release(h);
	return r;
}

/* Every buffer of h: the DMA-BUFs told that the CPU reads (or writes) them now. */
int fdx_held_cpu_begin(const struct fdx_held *h, bool write)
{
	for (unsigned i = 0; i < h->nbufs; i++) {
		int r = fdx_buffer_cpu_begin(&h->bufs[i], write);

		if (r < 0) {
			/* the ones that began end: the caller will not touch any of them */
			while (i-- > 0)
				fdx_buffer_cpu_end(&h->bufs[i], write);
			return r;
		}
	}
	return 0;
}

int fdx_held_cpu_end(const struct fdx_held *h, bool write)
{
	int ret = 0;

	/* every access that began must end, whatever one of them says */
	for (unsigned i = 0; i < h->nbufs; i++) {
		int r = fdx_buffer_cpu_end(&h->bufs[i], write);

		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

bool fdx_held_may_shrink(const struct fdx_held *h)
{
	for (unsigned i = 0; i < h->nbufs; i++)
		if (fdx_buffer_may_shrink(&h->bufs[i]))
			return true;
	return false;
}

unsigned fdx_held_kind(const struct fdx_held *h)
{
	return h->nbufs ? h->bufs[0].kind : FDX_BUF_KIND_NONE;
}

int fdx_held_seal(struct fdx_held *h)
{
	for (unsigned i = 0; i < h->nbufs; i++) {
		int r = fdx_buffer_seal(&h->bufs[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

unsigned fdx_held_fds(const struct fdx_held *h, int fds[FDX_MAX_PLANES])
{
	if (h->obj.backend == FDX_BACKEND_COPY)
		return 0;
	for (unsigned i = 0; i < h->nbufs; i++)
		fds[i] = h->bufs[i].fd;
	return h->nbufs;
}

/* "buffer 3: " or, for objects with several fds, "buffer 3: fd 1 " and so on */
static const char *fd_label(char *buf, size_t cap, unsigned nfds, unsigned i)
{
	if (nfds > 1)
		snprintf(buf, cap, " %u", i);
	else
		buf[0] = '\0';
	return buf;
}

/* Is a buffer of this kind what the OBJECT's backend makes? */
static bool kind_fits(unsigned backend, unsigned kind)
{
	switch (backend) {
	case FDX_BACKEND_MEMFD:
		return kind == FDX_BUF_KIND_MEMFD;
	case FDX_BACKEND_MEMFD_HUGE:
		return kind == FDX_BUF_KIND_MEMFD_HUGE;
	case FDX_BACKEND_SHM:
		return kind == FDX_BUF_KIND_TMPFS; /* /dev/shm is a tmpfs on Linux */
	case FDX_BACKEND_TMPFILE:
		return kind == FDX_BUF_KIND_TMPFS || kind == FDX_BUF_KIND_FILE;
	case FDX_BACKEND_DMA_HEAP:
	case FDX_BACKEND_UDMABUF:
		return kind == FDX_BUF_KIND_DMABUF;
	}
	return false;
}

/* May a buffer without the shrink seal be taken? Only what cannot be sealed, and only
 * by a caller that reads it under a SIGBUS guard (or asked for anything unsealed). */
static bool unsealed_ok(unsigned backend, unsigned kind, unsigned flags)
{
	if (flags & FDX_BUF_UNSEALED)
		return true;
	if (kind == FDX_BUF_KIND_DMABUF)
		return true; /* never changes size */
	return (flags & FDX_BUF_GUARDED) &&
	       (backend == FDX_BACKEND_SHM || backend == FDX_BACKEND_TMPFILE);
}

/* Every fd is a buffer of the kind announced, with the seals we need: say which is not. */
static int inspect_fds(const struct fdx_object *o, const int *fds, unsigned nfds,
		       unsigned flags, uint64_t *sizes, char *err, size_t errcap)
{
	for (unsigned i = 0; i < nfds; i++) {
		struct fdx_buffer_info info;
		char lab[16], seals_s[64];
		int r = fdx_buffer_identify(fds[i], &info);

		sizes[i] = info.size;
		fd_label(lab, sizeof(lab), nfds, i);
		if (r == -ENODEV) {
			snprintf(err, errcap,
				 "buffer %" PRIu32 ": fd%s is a %s, not a buffer", o->index,
				 lab, fdx_fd_kind(fds[i]));
			return r;
		}
		if (r == -EBADF) {
			snprintf(err, errcap,
				 "buffer %" PRIu32
				 ": fd%s is an O_PATH reference, not a buffer",
				 o->index, lab);
			return r;
		}
		if (r < 0) {
			snprintf(err, errcap, "buffer %" PRIu32 ": cannot inspect fd%s: %s",
				 o->index, lab, strerror(-r));
			return r;
		}
		if (!kind_fits(o->backend, info.kind)) {
			snprintf(err, errcap,
				 "buffer %" PRIu32 ": the OBJECT says %s, fd %u is a %s",
				 o->index, fdx_backend_name(o->backend), i,
				 fdx_buf_kind_name(info.kind));
			return -EMEDIUMTYPE;
		}
		if (!unsealed_ok(o->backend, info.kind, flags) &&
		    (info.seals & FDX_SEALS_REQUIRED) != FDX_SEALS_REQUIRED) {
			snprintf(err, errcap,
				 "buffer %" PRIu32 ":%s%s not sealed against shrinking "
				 "(seals: %s)",
				 o->index, nfds > 1 ? " fd" : "", lab,
				 fdx_seals_str(info.seals, seals_s, sizeof(seals_s)));
			return -EPERM;
		}
	}
	return 0;
}

/* The planes of a raw object fit their fds: the message for a short one. */
static int check_raw(const struct fdx_object *o, const uint64_t *have, unsigned nfds,
		     char *err, size_t errcap)
{
	const struct fdx_plane *pl = &o->planes[0];
	uint64_t end;

	/* the codec refused a raw object with more than one plane or a wrapping range */
	if (fdx_add_overflow(pl->offset, pl->size, &end) || end > INT64_MAX) {
		snprintf(err, errcap,
			 "buffer %" PRIu32 ": offset %" PRIu64 " + size %" PRIu64
			 " is not a valid range",
			 o->index, pl->offset, pl->size);
		return -EOVERFLOW;
	}
	if (nfds < 1 || end <= have[0])
		return 0;
	if (pl->offset)
		snprintf(err, errcap,
			 "buffer %" PRIu32 ": size %" PRIu64 " < %" PRIu64
			 " claimed at offset %" PRIu64,
			 o->index, have[0], pl->size, pl->offset);
	else
		snprintf(err, errcap,
			 "buffer %" PRIu32 ": size %" PRIu64 " < %" PRIu64 " claimed",
			 o->index, have[0], pl->size);
	return -ERANGE;
}

/* Map fd i over the span of its planes: [lowest offset, highest end). */
static int map_fd(struct fdx_held *h, unsigned i, int fd, unsigned flags, char *err,
		  size_t errcap)
{
	const struct fdx_object *o = &h->obj;
	uint64_t lo = UINT64_MAX, hi = 0;
	int r;

	for (unsigned k = 0; k < o->nplanes; k++) {
		const struct fdx_plane *pl = &o->planes[k];

		if (pl->fd_index != i)
			continue;
		if (pl->offset < lo)
			lo = pl->offset;
		if (pl->offset + pl->size > hi) /* checked before: cannot wrap */
			hi = pl->offset + pl->size;
	}
	/* inspect_fds() took it as what the OBJECT says: unsealed only if it may be */
	if (unsealed_ok(o->backend, FDX_BUF_KIND_NONE, flags))
		flags |= FDX_BUF_UNSEALED;
	r = fdx_buffer_import(&h->bufs[i], fd, lo, hi - lo, flags);
	if (r == 0)
		h->bufs[i].backend = o->backend;
	if (r < 0) {
		char lab[16];

		snprintf(err, errcap,
			 "cannot map buffer %" PRIu32 "%s%s (%" PRIu64 " bytes): %s",
			 o->index, h->nbufs > 1 ? " fd" : "",
			 fd_label(lab, sizeof(lab), h->nbufs, i), hi - lo, strerror(-r));
	}
	return r;
}

int fdx_held_import(struct fdx_held *h, const struct fdx_object *o, int *fds, unsigned nfds,
		    unsigned flags, char *err, size_t errcap)
{
	uint64_t have[FDX_MAX_PLANES] = { 0 }, need[FDX_MAX_PLANES];
	int mine[FDX_MAX_PLANES];
	unsigned nneed;
	char why[200];
	int r;

	fdx_held_init(h);
	err[0] = '\0';
	if (nfds > FDX_MAX_PLANES)
		nfds = FDX_MAX_PLANES; /* the codec never lets more through */
	/* ours from here on, whatever happens */
	for (unsigned i = 0; i < nfds; i++) {
		mine[i] = fds[i];
		fds[i] = -1;
	}
	h->obj = *o;
	r = fdx_image_fd_sizes(o, need, &nneed);
	if (r < 0) {
		snprintf(err, errcap, "buffer %" PRIu32 ": planes out of range", o->index);
		goto fail;
	}
	if (o->backend == FDX_BACKEND_COPY && nfds == 0) {
		/*
		 * Nothing shared: the frames will be copied into memory of our own, as
		 * large as the planes reach. The layout rules hold all the same: a stride
		 * shorter than a row would send a reader past its plane.
		 */
		if (o->kind == FDX_KIND_IMAGE &&
		    (r = fdx_image_check(o, need, 1, why, sizeof(why))) < 0) {
			snprintf(err, errcap, "buffer %" PRIu32 ": %s", o->index, why);
			if (r == -EINVAL)
				r = -EPROTO;
			goto fail;
		}
		r = fdx_buffer_anon(&h->bufs[0], need[0]);
		if (r < 0)
			snprintf(err, errcap,
				 "cannot allocate copy buffer %" PRIu32 " (%" PRIu64
				 " bytes): %s",
				 o->index, need[0], strerror(-r));
		h->nbufs = r < 0 ? 0 : 1;
		return r;
	}
	if (nfds != nneed) {
		snprintf(err, errcap, "buffer %" PRIu32 ": %u fds for planes in %u",
			 o->index, nfds, nneed);
		r = -EBADFD;
		goto fail;
	}
	r = inspect_fds(o, mine, nfds, flags, have, err, errcap);
	if (r < 0)
		goto fail;
	/* every rule checked against the real sizes before anything is mapped */
	if (o->kind == FDX_KIND_IMAGE) {
		r = fdx_image_check(o, have, nfds, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errcap, "buffer %" PRIu32 ": %s", o->index, why);
			/* a description that contradicts itself is the peer's protocol
			 * error */
			if (r == -EINVAL)
				r = -EPROTO;
			goto fail;
		}
	} else {
		r = check_raw(o, have, nfds, err, errcap);
		if (r < 0)
			goto fail;
	}
	h->nbufs = nfds;
	for (unsigned i = 0; i < nfds; i++) {
		int fd = mine[i];

		mine[i] = -1;
		r = map_fd(h, i, fd, flags, err, errcap);
		if (r < 0) {
			for (unsigned k = i + 1; k < nfds; k++)
				fdx_close_fds(&mine[k], 1);
			fdx_held_release(h);
			return r;
		}
	}
	return 0;
fail:
	fdx_close_fds(mine, nfds);
	fdx_held_release(h);
	return r;
}

uint8_t *fdx_held_plane(const struct fdx_held *h, unsigned plane)
{
	const struct fdx_plane *pl;
	const struct fdx_buffer *b;

	if (plane >= h->obj.nplanes || plane >= FDX_MAX_PLANES)
		return NULL;
	pl = &h->obj.planes[plane];
	if (pl->fd_index >= FDX_MAX_PLANES)
		return NULL;
	b = &h->bufs[pl->fd_index];
	if (!b->map || pl->offset < b->offset)
		return NULL;
	return b->map + (pl->offset - b->offset);
}

uint8_t *fdx_held_at(const struct fdx_held *h, uint64_t pos)
{
	for (unsigned i = 0; i < h->obj.nplanes; i++) {
		uint64_t size = h->obj.planes[i].size;

		if (pos < size) {
			uint8_t *p = fdx_held_plane(h, i);

			return p ? p + pos : NULL;
		}
		pos -= size;
	}
	return NULL;
}

void fdx_held_fill(struct fdx_held *h, const struct fdx_pattern *p, uint64_t from,
		   uint64_t to)
{
	uint64_t pos = 0;

	for (unsigned i = 0; i < h->obj.nplanes; i++) {
		uint64_t size = h->obj.planes[i].size;
		uint64_t a = from > pos ? from : pos;
		uint64_t b = to < pos + size ? to : pos + size;
		uint8_t *base = fdx_held_plane(h, i);

		if (a < b && base)
			fdx_pattern_fill(p, base + (a - pos), (size_t)(b - a), a);
		pos += size;
	}
}

/* Pixel bytes per row of plane i, 0 for a raw object (its plane is all pixels). */
static uint64_t row_bytes(const struct fdx_object *o, unsigned i)
{
	return o->kind == FDX_KIND_IMAGE ? fdx_image_row_bytes(o, i) : 0;
}

/* Plane pointers of a held object, for the functions that take any memory. */
static void held_planes(const struct fdx_held *h, const uint8_t *planes[FDX_MAX_PLANES])
{
	for (unsigned i = 0; i < FDX_MAX_PLANES; i++)
		planes[i] = fdx_held_plane(h, i);
}

int fdx_object_checksum(const struct fdx_object *o, const uint8_t *const *planes,
			uint64_t *sum)
{
	/*
	 * On the stack, not from XXH3_createState(): a reader of a buffer that may shrink
	 * can be cut short by a SIGBUS and never come back to free it.
	 */
	XXH3_state_t st;

	for (unsigned i = 0; i < o->nplanes; i++)
		if (!planes[i])
			return -EINVAL; /* a checksum of some planes means nothing */
	XXH3_INITSTATE(&st);
	XXH3_64bits_reset(&st);
	for (unsigned i = 0; i < o->nplanes; i++) {
		const struct fdx_plane *pl = &o->planes[i];
		uint64_t row = row_bytes(o, i);

		if (!row) {
			XXH3_64bits_update(&st, planes[i], (size_t)pl->size);
			continue;
		}
		for (uint32_t y = 0; y < pl->height; y++)
			XXH3_64bits_update(&st, planes[i] + (size_t)y * pl->stride,
					   (size_t)row);
	}
	*sum = XXH3_64bits_digest(&st);
	return 0;
}

int fdx_held_checksum(const struct fdx_held *h, uint64_t *sum)
{
	const uint8_t *planes[FDX_MAX_PLANES];

	held_planes(h, planes);
	return fdx_object_checksum(&h->obj, planes, sum);
}

/* Count the wrong bytes of [off, off+len) of a plane into *count and *first. */
static void count_region(const struct fdx_pattern *p, const uint8_t *base, uint64_t ppos,
			 uint64_t off, uint64_t len, uint64_t *count, uint64_t *first)
{
	struct fdx_verify_result vr;

	if (!len)
		return;
	if (fdx_pattern_verify(p, base + off, (size_t)len, ppos + off, &vr) == 0)
		return;
	*count += vr.mismatched_bytes;
	if (*first == FDX_NO_OFFSET || ppos + off + vr.first_mismatch < *first)
		*first = ppos + off + vr.first_mismatch;
}

/* Off the fast path: split a plane's wrong bytes into pixels and row padding. */
static void split_plane(const struct fdx_object *o, unsigned i, const uint8_t *base,
			uint64_t ppos, const struct fdx_pattern *p,
			struct fdx_plane_result *pr)
{
	const struct fdx_plane *pl = &o->planes[i];
	uint64_t row = row_bytes(o, i), first = FDX_NO_OFFSET;

	pr->pixel_bytes = pr->padding_bytes = 0;
	for (uint32_t y = 0; y < pl->height; y++) {
		uint64_t start = (uint64_t)y * pl->stride;
		uint64_t pix_end = start + row < pl->size ? start + row : pl->size;
		uint64_t pad_end =
			start + pl->stride < pl->size ? start + pl->stride : pl->size;

		if (start >= pl->size)
			break;
		count_region(p, base, ppos, start, pix_end - start, &pr->pixel_bytes,
			     &first);
		count_region(p, base, ppos, pix_end, pad_end - pix_end, &pr->padding_bytes,
			     &first);
	}
	/* bytes past the last row's stride belong to no pixel either */
	if ((uint64_t)pl->height * pl->stride < pl->size) {
		uint64_t tail = (uint64_t)pl->height * pl->stride;

		count_region(p, base, ppos, tail, pl->size - tail, &pr->padding_bytes,
			     &first);
	}
}

static unsigned verify_pattern(const struct fdx_object *o, const uint8_t *const *planes,
			       struct fdx_object_result *r)
{
	struct fdx_pattern p;
	uint64_t ppos = 0;
	bool any = false;

	fdx_pattern_init(&p, o->seed, o->frame);
	for (unsigned i = 0; i < o->nplanes; i++) {
		const struct fdx_plane *pl = &o->planes[i];
		struct fdx_plane_result *pr = &r->planes[i];
		const uint8_t *base = planes[i];
		struct fdx_verify_result vr;

		if (!base) {
			ppos += pl->size;
			continue;
		}
		any = true;
		/* the hot path: one fused pass over the plane, padding and all */
		if (fdx_pattern_verify(&p, base, (size_t)pl->size, ppos, &vr)) {
			pr->first_mismatch = ppos + vr.first_mismatch;
			if (row_bytes(o, i))
				split_plane(o, i, base, ppos, &p, pr);
			else
				pr->pixel_bytes = vr.mismatched_bytes;
			if (r->total.first_mismatch == FDX_NO_OFFSET)
				r->total.first_mismatch = pr->first_mismatch;
			r->total.mismatched_bytes += vr.mismatched_bytes;
		}
		ppos += pl->size;
	}
	if (!any)
		return r->verdict = FDX_VERDICT_UNCHECKED;
	return r->verdict =
		       r->total.mismatched_bytes ? FDX_VERDICT_MISMATCH : FDX_VERDICT_OK;
}

unsigned fdx_object_verify(const struct fdx_object *o, const uint8_t *const *planes,
			   struct fdx_object_result *r)
{
	memset(r, 0, sizeof(*r));
	r->total.first_mismatch = FDX_NO_OFFSET;
	for (unsigned i = 0; i < FDX_MAX_PLANES; i++)
		r->planes[i].first_mismatch = FDX_NO_OFFSET;
	r->verdict = FDX_VERDICT_UNCHECKED;
	switch (o->content) {
	case FDX_CONTENT_PATTERN:
		return verify_pattern(o, planes, r);
	case FDX_CONTENT_CHECKSUM:
		if (fdx_object_checksum(o, planes, &r->checksum) < 0)
			return r->verdict;
		r->verdict =
			r->checksum == o->checksum ? FDX_VERDICT_OK : FDX_VERDICT_MISMATCH;
		return r->verdict;
	}
	return r->verdict;
}

unsigned fdx_held_verify(const struct fdx_held *h, struct fdx_object_result *r)
{
	const uint8_t *planes[FDX_MAX_PLANES];

	held_planes(h, planes);
	return fdx_object_verify(&h->obj, planes, r);
}

/*
 * Put the per-plane diagnoses together, over the planes there are (planes[i] set). The
 * object is stale when every plane holds the same other frame g; torn when the planes
 * read, in order: the expected frame, then (from one position on, perhaps inside a
 * plane) g to the end -- or g first and the expected frame from a position on. Anything
 * else is corrupt.
 */
static unsigned combine(const struct fdx_object *o, const uint8_t *const *planes,
			const struct fdx_diagnosis *pd, struct fdx_diagnosis *d)
{
	unsigned n = o->nplanes, a = n, z = 0, first = n;
	uint64_t g = 0, pos[FDX_MAX_PLANES];
	bool forward = true, backward = true;

	for (unsigned i = 0; i < n; i++) {
		pos[i] = plane_pos(o, i);
		if (!planes[i])
			continue;
		if (first == n)
			first = i;
		if (pd[i].kind == FDX_DIAG_NONE)
			continue;
		if (a == n) {
			a = i;
			g = pd[i].found;
		}
		z = i;
	}
	if (a == n)
		return d->kind = FDX_DIAG_NONE;
	for (unsigned i = 0; i < n; i++) {
		const struct fdx_diagnosis *q = &pd[i];
		bool stale_g = q->kind == FDX_DIAG_STALE && q->found == g;

		if (!planes[i])
			continue;
		if (q->kind == FDX_DIAG_CORRUPT ||
		    (q->kind != FDX_DIAG_NONE && q->found != g))
			return d->kind = FDX_DIAG_CORRUPT;
		/* forward: fine before a; at a stale or torn f|g; stale g after it */
		if (i > a && !stale_g)
			forward = false;
		if (i == a && q->kind == FDX_DIAG_TORN && q->head_frame != o->frame)
			forward = false;
		/* backward: stale g before z; at z stale or torn g|f; fine after it */
		if (i < z && !stale_g)
			backward = false;
		if (i == z && q->kind == FDX_DIAG_TORN && q->tail_frame != o->frame)
			backward = false;
	}
	d->found = g;
	if (forward && a == first && pd[a].kind == FDX_DIAG_STALE)
		return d->kind = FDX_DIAG_STALE;
	if (forward) {
		d->kind = FDX_DIAG_TORN;
		d->tear = pos[a] + (pd[a].kind == FDX_DIAG_TORN ? pd[a].tear : 0);
		d->head_frame = o->frame;
		d->tail_frame = g;
		return d->kind;
	}
	if (backward) {
		d->kind = FDX_DIAG_TORN;
		d->tear = pd[z].kind == FDX_DIAG_TORN ? pos[z] + pd[z].tear
						      : pos[z] + o->planes[z].size;
		d->head_frame = g;
		d->tail_frame = o->frame;
		return d->kind;
	}
	d->found = 0;
	return d->kind = FDX_DIAG_CORRUPT;
}

unsigned fdx_object_diagnose(const struct fdx_object *o, const uint8_t *const *planes,
			     uint64_t window, struct fdx_diagnosis *d)
{
	struct fdx_diagnosis pd[FDX_MAX_PLANES];
	struct fdx_pattern p;
	uint64_t ppos = 0;

	memset(d, 0, sizeof(*d));
	d->verify.first_mismatch = FDX_NO_OFFSET;
	d->expected = o->frame;
	if (o->content != FDX_CONTENT_PATTERN)
		return FDX_DIAG_NONE;
	fdx_pattern_init(&p, o->seed, o->frame);
	memset(pd, 0, sizeof(pd));
	for (unsigned i = 0; i < o->nplanes; i++) {
		if (planes[i]) {
			fdx_pattern_diagnose(&p, planes[i], (size_t)o->planes[i].size, ppos,
					     window, &pd[i]);
			if (pd[i].verify.mismatched_bytes) {
				if (d->verify.first_mismatch == FDX_NO_OFFSET)
					d->verify.first_mismatch =
						ppos + pd[i].verify.first_mismatch;
				d->verify.mismatched_bytes += pd[i].verify.mismatched_bytes;
			}
		}
		ppos += o->planes[i].size;
	}
	return combine(o, planes, pd, d);
}

unsigned fdx_held_diagnose(const struct fdx_held *h, uint64_t window,
			   struct fdx_diagnosis *d)
{
	const uint8_t *planes[FDX_MAX_PLANES];

	held_planes(h, planes);
	return fdx_object_diagnose(&h->obj, planes, window, d);
}

/* Does frame f's pattern hold the PROBE bytes at position pos of plane i? */
#define PROBE 16u

static bool probe(uint64_t seed, uint64_t f, const uint8_t *at, uint64_t pos)
{
	struct fdx_pattern p;
	struct fdx_verify_result vr;

	fdx_pattern_init(&p, seed, f);
	return fdx_pattern_verify(&p, at, PROBE, pos, &vr) == 0;
}

int fdx_object_find_frame(const struct fdx_object *o, const uint8_t *const *planes,
			  uint64_t guess, uint64_t limit, uint64_t *frame)
{
	const uint8_t *at[3 * FDX_MAX_PLANES];
	uint64_t pos[3 * FDX_MAX_PLANES], ppos = 0;
	unsigned n = 0;

	/* a few places, so that one damaged spot does not hide the frame */
	for (unsigned i = 0; i < o->nplanes; i++) {
		uint64_t size = o->planes[i].size;

		if (planes[i] && size >= PROBE) {
			uint64_t offs[3] = { 0, (size / 2) & ~7ull, size - PROBE };

			for (unsigned k = 0; k < 3; k++) {
				at[n] = planes[i] + offs[k];
				pos[n++] = ppos + offs[k];
			}
		}
		ppos += size;
	}
	if (!n)
		return -EINVAL;
	/* near the guess first (a ring buffer holds a recent frame), then from 0 on */
	for (uint64_t k = 0; k <= FDX_DIAG_WINDOW; k++) {
		uint64_t cand[2] = { guess + k, guess - k };

		for (unsigned c = 0; c < (k ? 2u : 1u); c++) {
			if ((c == 0 && cand[0] < guess) || (c == 1 && cand[1] > guess))
				continue; /* wrapped */
			for (unsigned j = 0; j < n; j++)
				if (probe(o->seed, cand[c], at[j], pos[j])) {
					*frame = cand[c];
					return 0;
				}
		}
	}
	/*
	 * The long scan is the slow part (millions of frames): two spots of the first plane
	 * at hand, its start and middle, are enough to recognise a frame there.
	 */
	for (uint64_t f = 0; f < limit; f++)
		for (unsigned j = 0; j < (n < 2 ? n : 2u); j++)
			if (probe(o->seed, f, at[j], pos[j])) {
				*frame = f;
				return 0;
			}
	return -ENOENT;
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

const char *fdx_object_shape(const struct fdx_object *o, char *buf, size_t cap)
{
	if (o->kind == FDX_KIND_IMAGE)
		snprintf(buf, cap, "%" PRIu32 "x%" PRIu32 " %s", o->width, o->height,
			 fdx_format_name(o->format));
	else
		snprintf(buf, cap, "raw");
	return buf;
}
