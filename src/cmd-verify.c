/* cmd-verify.c - `fdx verify`: check a buffer outside a session: a file, a dumped buffer,
 * or a live fd of another process; say which frame it holds, or what is wrong with it */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "busguard.h"
#include "cli.h"
#include "fdx.h"
#include "image.h"
#include "imageopts.h"
#include "object.h"
#include "peerfd.h"
#include "provenance.h"
#include "report.h"

#define DEFAULT_SEARCH (1ull << 22) /* frames tried when the name gives no hint */
#define MAP_WIDTH_MAX  512u	    /* pixels across a --map picture, at most */
#define MAP_HEIGHT_MAX 4096u	    /* and at most this high */
#define LIVE_TRIES     5u	    /* reads of a changing buffer before giving up on it */

struct verify_opts {
	const char *file;
	pid_t pid;
	int fd;
	bool seed_given, frame_given, checksum_given, size_given;
	uint64_t seed, frame, checksum, size, search;
	int plane;	      /* -1: the whole object */
	bool plane_given;     /* --plane, not the name */
	struct imageopts img; /* --format (one), --width, --height, --align */
	uint64_t strides[FDX_MAX_PLANES];
	unsigned nstrides;
	const char *map;
};

/* What is being checked, learnt before anything is read. */
struct subject {
	int fd;
	char desc[512];	  /* "'/dev/shm/x'" or "fd 7 of pid 4711" */
	char target[512]; /* what /proc says the fd is */
	bool named;	  /* the name is an fdx buffer name */
	struct fdx_provenance prov;
	uint64_t file_size;
	unsigned seals;
};

enum frame_from {
	FRAME_NONE,    /* checksum: no frame */
	FRAME_OPTION,  /* --frame */
	FRAME_SEARCH,  /* found in the buffer */
	FRAME_NAME,    /* none found: the name's index */
	FRAME_DEFAULT, /* none found, no name: 0 */
	FRAME_EMPTY,   /* nothing in the file to search: the name's index or 0 */
};

/* The outcome, filled in by check() (perhaps cut short by a SIGBUS). */
struct outcome {
	struct fdx_object obj; /* the object as it should be */
	struct fdx_object chk; /* what is checked: planes cut to what the file holds */
	const uint8_t *planes[FDX_MAX_PLANES];
	uint64_t avail[FDX_MAX_PLANES]; /* bytes of each plane in the file */
	unsigned frame_from;		/* enum frame_from */
	uint64_t needed;		/* bytes the object needs in this file */
	uint64_t have;			/* of those, in the file */
	uint64_t extra;			/* bytes of the file past what the layout covers */
	bool truncated;			/* the file is shorter than needed */
	bool shrank;			/* a SIGBUS: it shrank while it was read */
	unsigned tries;			/* checks made: more when it changed meanwhile */
	bool changing;			/* the frame moved on while it was read */
	uint64_t seen[LIVE_TRIES];	/* the frames it held when each read began */
	unsigned nseen;
	struct fdx_object_result res;
	struct fdx_diagnosis diag;
	unsigned map_w, map_h, map_cell;
	int map_err;
};

/* ---- where the buffer comes from ---- */

static int open_subject(const struct verify_opts *o, struct subject *sub)
{
	char name[FDX_PROVENANCE_MAX + 1];
	const char *n = NULL;
	int r;

	sub->fd = -1;
	if (o->file) {
		/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
		 * below */
		sub->fd = open(o->file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (sub->fd < 0) {
			cli_err("cannot open '%s': %s", o->file, strerror(errno));
			return FDX_EXIT_SYSTEM;
		}
		snprintf(sub->desc, sizeof(sub->desc), "'%s'", o->file);
	} else {
		r = fdx_peerfd_take(o->pid, o->fd, &sub->fd);
		if (r < 0) {
			cli_err("cannot take fd %d of process %d: %s", o->fd, (int)o->pid,
				r == -EPERM
					? "not permitted (pidfd_getfd needs the right to "
					  "ptrace it: see ptrace(2) and kernel.yama.ptrace_scope)"
				: r == -ESRCH ? "no such process"
				: r == -EBADF ? "it has no such fd"
					      : strerror(-r));
			return FDX_EXIT_SYSTEM;
		}
		snprintf(sub->desc, sizeof(sub->desc), "fd %d of pid %d", o->fd,
			 (int)o->pid);
	}
	/* what the fd is, whichever way it came: /proc/PID/fd/N names the memfd too */
	if (fdx_fd_target(sub->fd, sub->target, sizeof(sub->target)) < 0)
		snprintf(sub->target, sizeof(sub->target), "%s", o->file ? o->file : "");
	n = fdx_memfd_name(sub->target, name, sizeof(name));
	/* a /dev/shm object fdx made carries the name in its file name */
	if (!n)
		n = strrchr(sub->target, '/') ? strrchr(sub->target, '/') + 1 : sub->target;
	sub->named = fdx_provenance_parse_file(n, &sub->prov) == 0;
	r = fdx_buffer_inspect(sub->fd, &sub->file_size, &sub->seals);
	if (r == -EBADF) {
		cli_err("%s is an O_PATH reference, not a buffer", sub->desc);
		return FDX_EXIT_USAGE;
	}
	if (r == -ENODEV) {
		cli_err("%s is a %s, not a buffer", sub->desc, fdx_fd_kind(sub->fd));
		return FDX_EXIT_USAGE;
	}
	if (r < 0) {
		cli_err("cannot inspect %s: %s", sub->desc, strerror(-r));
		return FDX_EXIT_SYSTEM;
	}
	return -1;
}

/* ---- what it should hold ---- */

/* Replace the strides of an image laid out tight; planes follow each other. */
static int apply_strides(const struct verify_opts *o, struct fdx_object *obj)
{
	uint64_t off = 0, total = 0, row0 = fdx_image_row_bytes(obj, 0);

	if (o->nstrides > 1 && o->nstrides != obj->nplanes) {
		cli_err("--stride: %u values for the %u plane%s of %s (give one, or one per "
			"plane)",
			o->nstrides, obj->nplanes, obj->nplanes == 1 ? "" : "s",
			fdx_format_name(obj->format));
		return -EINVAL;
	}
	for (unsigned i = 0; i < obj->nplanes; i++) {
		struct fdx_plane *pl = &obj->planes[i];
		uint64_t row = fdx_image_row_bytes(obj, i), stride;

		/* one stride for all: the others in proportion, as I420's half-width chroma
		 */
		if (i < o->nstrides)
			stride = o->strides[i];
		else if (o->nstrides == 1)
			stride = (o->strides[0] * row + row0 - 1) / row0;
		else
			stride = pl->stride;
		if (stride < row || stride > UINT32_MAX) {
			cli_err("--stride: plane %u needs at least %" PRIu64
				" bytes per row, got %" PRIu64,
				i, row, stride);
			return -EINVAL;
		}
		pl->stride = (uint32_t)stride;
		if (fdx_mul_overflow(stride, pl->height, &pl->size) ||
		    fdx_add_overflow(total, pl->size, &total)) {
			cli_err("--stride: the image is too large");
			return -EINVAL;
		}
		pl->offset = off;
		off = total;
	}
	obj->size = total;
	return 0;
}

/* The object the file should hold: a layout, and what to check it against. */
static int describe(const struct verify_opts *o, const struct subject *sub,
		    struct outcome *out)
{
	struct fdx_object *obj = &out->obj;

	if (o->img.format_given) {
		if (imageopts_layout(&o->img, o->img.formats[0], o->img.width,
				     o->img.height, 0, NULL, obj) < 0)
			return -EINVAL;
		if (o->nstrides && apply_strides(o, obj) < 0)
			return -EINVAL;
	} else {
		uint64_t size = o->size_given ? o->size : sub->file_size;

		if (!size) {
			cli_err("%s is empty: nothing to verify (give --size for what it should "
				"hold)",
				sub->desc);
			return -EINVAL;
		}
		imageopts_layout(&o->img, FDX_FORMAT_RAW, 0, 0, size, NULL, obj);
	}
	obj->backend = FDX_BACKEND_MEMFD;
	if (o->checksum_given) {
		obj->content = FDX_CONTENT_CHECKSUM;
		obj->checksum = o->checksum;
	} else {
		obj->content = FDX_CONTENT_PATTERN;
		obj->seed = o->seed_given		       ? o->seed
			    : sub->named && sub->prov.has_seed ? sub->prov.seed
							       : 1;
	}
	return 0;
}

/* ---- reading it ---- */

/* Position of plane i's first byte: the planes before it, back to back. */
static uint64_t plane_pos(const struct fdx_object *o, unsigned i)
{
	uint64_t pos = 0;

	for (unsigned k = 0; k < i; k++)
		pos += o->planes[k].size;
	return pos;
}

/* The frame to check against: --frame, or the one the buffer turns out to hold. */
static void choose_frame(const struct verify_opts *o, const struct subject *sub,
			 struct outcome *out)
{
	uint64_t guess = sub->named ? sub->prov.index : 0, found;

	if (out->chk.content != FDX_CONTENT_PATTERN) {
		out->frame_from = FRAME_NONE;
		return;
	}
	if (o->frame_given) {
		out->chk.frame = o->frame;
		out->frame_from = FRAME_OPTION;
		return;
	}
	switch (fdx_object_find_frame(&out->chk, out->planes, guess, o->search, &found)) {
	case 0:
		out->chk.frame = found;
		out->frame_from = FRAME_SEARCH;
		return;
	case -EINVAL: /* no plane in the file, or none large enough to probe */
		out->chk.frame = guess;
		out->frame_from = FRAME_EMPTY;
		return;
	}
	out->chk.frame = guess;
	out->frame_from = sub->named ? FRAME_NAME : FRAME_DEFAULT;
}

/* How a block of a plane reads: 255 right, 0 wrong, 64 not in the file. */
static uint8_t block_value(const struct fdx_pattern *p, const struct outcome *out,
			   unsigned i, uint64_t ppos, uint64_t off, uint64_t len)
{
	struct fdx_verify_result vr;
	uint64_t avail = out->avail[i], here;

	if (!len)
		return 255;
	here = off >= avail ? 0 : avail - off < len ? avail - off : len;
	if (here &&
	    fdx_pattern_verify(p, out->planes[i] + off, (size_t)here, ppos + off, &vr))
		return 0;
	return here < len ? 64 : 255;
}

/*
 * The bytes a map row stands for: an image plane's stride; for raw bytes 4 KiB, or for a
 * large buffer the power of two nearest above its square root, so that the picture stays
 * about square instead of thinning into a strip.
 */
static uint64_t map_stride(const struct fdx_object *obj, unsigned i)
{
	uint64_t row = 4096;

	if (obj->kind == FDX_KIND_IMAGE)
		return obj->planes[i].stride;
	while (row < (1ull << 31) && row * row < obj->planes[i].size)
		row *= 2;
	return row;
}

static bool map_drawn(const struct verify_opts *o, unsigned i)
{
	return o->plane < 0 || (int)i == o->plane;
}

/*
 * The --map picture: every plane drawn as rows of its stride, one pixel per cell x cell
 * bytes: white right, black wrong, dark gray (64) not in the file, light gray (192)
 * beyond a narrower plane's rows, a mid-gray (128) row between planes. The cell grows
 * (by powers of two) until the picture is at most 512 wide and 4096 high.
 */
static int write_map(const struct verify_opts *o, struct outcome *out)
{
	const struct fdx_object *obj = &out->obj;
	struct fdx_pnm pnm = { .channels = 1, .maxval = 255 };
	uint64_t widest = 0, rows_total;
	struct fdx_pattern p;
	unsigned cell = 1;
	uint8_t *px, *row_px;
	FILE *f;
	int r;

	fdx_pattern_init(&p, out->chk.seed, out->chk.frame);
	for (unsigned i = 0; i < obj->nplanes; i++)
		if (map_drawn(o, i) && map_stride(obj, i) > widest)
			widest = map_stride(obj, i);
	for (;;) {
		bool first = true;

		rows_total = 0;
		for (unsigned i = 0; i < obj->nplanes; i++) {
			uint64_t rows = (obj->planes[i].size + map_stride(obj, i) - 1) /
					map_stride(obj, i);

			if (!map_drawn(o, i))
				continue;
			rows_total += (rows + cell - 1) / cell + (first ? 0 : 1);
			first = false;
		}
		if ((widest + cell - 1) / cell <= MAP_WIDTH_MAX &&
		    rows_total <= MAP_HEIGHT_MAX)
			break;
		cell *= 2;
	}
	out->map_cell = cell;
	out->map_w = (unsigned)((widest + cell - 1) / cell);
	out->map_h = (unsigned)rows_total;
	px = malloc((size_t)out->map_w * out->map_h);
	if (!px)
		return -ENOMEM;
	row_px = px;
	for (unsigned i = 0, drawn = 0; i < obj->nplanes; i++) {
		const struct fdx_plane *pl = &obj->planes[i];
		uint64_t stride = map_stride(obj, i),
			 rows = (pl->size + stride - 1) / stride;
		uint64_t ppos = plane_pos(obj, i);

		if (!map_drawn(o, i))
			continue;
		if (drawn++) {
			memset(row_px, 128, out->map_w);
			row_px += out->map_w;
		}
		for (uint64_t by = 0; by < rows; by += cell, row_px += out->map_w) {
			memset(row_px, 192, out->map_w);
			for (uint64_t bx = 0; bx * cell < stride; bx++) {
				uint8_t v = 192; /* outside: past the end of a raw buffer */

				/* the darkest of the block's rows: wrong, missing, right */
				for (uint64_t y = by; y < by + cell && y < rows && v; y++) {
					uint64_t off = y * stride + bx * cell, len = cell;
					uint8_t w;

					if (off >= pl->size)
						break;
					/* the rows from here on are past the file: no need
					 * to look */
					if (off >= out->avail[i]) {
						v = v < 64 ? v : 64;
						break;
					}
					len = len < pl->size - off ? len : pl->size - off;
					if (len > stride - bx * cell)
						len = stride - bx * cell;
					w = block_value(&p, out, i, ppos, off, len);
					v = v == 192 || w < v ? w : v;
				}
				row_px[bx] = v;
			}
		}
	}
	pnm.width = out->map_w;
	pnm.height = out->map_h;
	pnm.data = px;
	pnm.size = (size_t)out->map_w * out->map_h;
	f = fopen(o->map, "we");
	if (!f) {
		r = -errno;
		free(px);
		return r;
	}
	r = fdx_pnm_write(f, &pnm);
	errno = 0;
	if (fclose(f) != 0 && r == 0)
		r = errno ? -errno : -EIO;
	free(px);
	return r;
}

/* Two checks of the same frame that agree: nothing moved between them. */
static bool same_result(const struct fdx_object_result *a,
			const struct fdx_object_result *b)
{
	return a->verdict == b->verdict &&
	       a->total.first_mismatch == b->total.first_mismatch &&
	       a->total.mismatched_bytes == b->total.mismatched_bytes;
}

/*
 * Check what the file holds, and keep at it while it changes. A buffer someone writes
 * while we read it (a stream's producer refills what its consumer released) reads as a
 * mix of frames. When a check fails, check again with the same frame and probe for the
 * frame once more: if anything moved, the buffer is changing, not wrong. Try for a quiet
 * moment a few times, then say which frames it held.
 */
static void check_settled(const struct verify_opts *o, const struct subject *sub,
			  struct outcome *out)
{
	struct fdx_object *chk = &out->chk;

	for (;;) {
		struct fdx_object_result again;
		uint64_t after;

		out->tries++;
		out->changing = false; /* what the last read found is what counts */
		choose_frame(o, sub, out);
		fdx_object_verify(chk, out->planes, &out->res);
		if (out->res.verdict != FDX_VERDICT_MISMATCH ||
		    out->frame_from != FRAME_SEARCH)
			return;
		fdx_object_verify(chk, out->planes, &again);
		if (same_result(&out->res, &again) &&
		    fdx_object_find_frame(chk, out->planes, chk->frame, 0, &after) == 0 &&
		    after == chk->frame)
			return; /* it held still: what is wrong is wrong */
		out->changing = true;
		out->seen[out->nseen++] = chk->frame;
		if (out->tries == LIVE_TRIES)
			return;
	}
}

/* Map what the file holds of the object and check it. */
static int check(const struct verify_opts *o, const struct subject *sub,
		 struct outcome *out, struct fdx_buffer *b)
{
	const struct fdx_object *obj = &out->obj;
	uint64_t sizes[FDX_MAX_PLANES];
	unsigned nfds;
	int r;

	/* where each plane sits in this file: one plane at 0, or all at their offsets */
	if (o->plane >= 0) {
		out->needed = obj->planes[o->plane].size;
	} else {
		fdx_image_fd_sizes(obj, sizes, &nfds);
		out->needed = sizes[0];
	}
	out->have = sub->file_size < out->needed ? sub->file_size : out->needed;
	out->truncated = sub->file_size < out->needed;
	out->extra = sub->file_size > out->needed ? sub->file_size - out->needed : 0;
	if (out->have) {
		/* no seal needed: a shrink under us is caught (SIGBUS) and reported */
		r = fdx_buffer_import(b, fcntl(sub->fd, F_DUPFD_CLOEXEC, 0), 0, out->have,
				      FDX_BUF_UNSEALED | FDX_BUF_POPULATE);
		if (r < 0) {
			cli_err("cannot map %s (%" PRIu64 " bytes): %s", sub->desc,
				out->have, strerror(-r));
			return FDX_EXIT_SYSTEM;
		}
	}
	/* a plane partly in the file is checked as far as it goes */
	out->chk = *obj;
	for (unsigned i = 0; i < obj->nplanes; i++) {
		uint64_t at = o->plane >= 0 ? 0 : obj->planes[i].offset;

		if (!map_drawn(o, i) || at >= out->have)
			continue;
		out->avail[i] = out->have - at < obj->planes[i].size ? out->have - at
								     : obj->planes[i].size;
		out->chk.planes[i].size = out->avail[i];
		out->planes[i] = b->map + at;
	}
	check_settled(o, sub, out);
	if (out->truncated) {
		/* what is missing is wrong, and nothing else needs explaining */
		uint64_t missing_at =
			o->plane >= 0 ? plane_pos(obj, (unsigned)o->plane) + out->have
				      : out->have;

		out->res.verdict = FDX_VERDICT_MISMATCH;
		if (out->res.total.first_mismatch == FDX_NO_OFFSET)
			out->res.total.first_mismatch = missing_at;
		out->res.total.mismatched_bytes += out->needed - out->have;
	} else if (out->res.verdict == FDX_VERDICT_MISMATCH && !out->changing &&
		   out->chk.content == FDX_CONTENT_PATTERN) {
		fdx_object_diagnose(&out->chk, out->planes, FDX_DIAG_WINDOW, &out->diag);
	}
	/* a map that cannot be written does not hide the verdict */
	if (o->map)
		out->map_err = write_map(o, out);
	return -1;
}

struct check_call {
	const struct verify_opts *o;
	const struct subject *sub;
	struct outcome *out;
	struct fdx_buffer *b;
	int rc;
};

static int do_check(void *arg)
{
	struct check_call *c = arg;

	c->rc = check(c->o, c->sub, c->out, c->b);
	return 0;
}

static int guarded_check(const struct verify_opts *o, const struct subject *sub,
			 struct outcome *out, struct fdx_buffer *b)
{
	struct check_call c = { .o = o, .sub = sub, .out = out, .b = b, .rc = -1 };

	/* sealed against shrinking, the mapping cannot lose pages under us */
	if (sub->seals & F_SEAL_SHRINK)
		return check(o, sub, out, b);
	if (busguard_run(do_check, &c) == -EFAULT) {
		out->shrank = true;
		out->res.verdict = FDX_VERDICT_MISMATCH;
		return -1;
	}
	return c.rc;
}

/* ---- telling it ---- */

static const char *const frame_from_names[] = {
	[FRAME_NONE] = "none", [FRAME_OPTION] = "option",   [FRAME_SEARCH] = "search",
	[FRAME_NAME] = "name", [FRAME_DEFAULT] = "default", [FRAME_EMPTY] = "empty",
};

static struct json_object *seals_json(unsigned seals)
{
	struct json_object *a = json_object_new_array();
	char buf[64], *save = NULL;

	fdx_seals_str(seals, buf, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, "none") != 0)
			json_object_array_add(a, json_object_new_string(t));
	return a;
}

static struct json_object *plane_results_json(const struct verify_opts *o,
					      const struct outcome *out)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < out->obj.nplanes; i++) {
		const struct fdx_plane *pl = &out->obj.planes[i];
		const struct fdx_plane_result *pr = &out->res.planes[i];
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "plane", json_object_new_int(i));
		json_object_object_add(
			p, "offset",
			json_object_new_uint64(o->plane >= 0 ? 0 : pl->offset));
		json_object_object_add(p, "stride", json_object_new_int64(pl->stride));
		json_object_object_add(p, "size", json_object_new_uint64(pl->size));
		json_object_object_add(p, "bytes_in_file",
				       json_object_new_uint64(out->avail[i]));
		json_object_object_add(
			p, "first_mismatch",
			pr->first_mismatch == FDX_NO_OFFSET
				? NULL
				: json_object_new_uint64(pr->first_mismatch));
		json_object_object_add(p, "pixel_mismatched_bytes",
				       json_object_new_uint64(pr->pixel_bytes));
		json_object_object_add(p, "padding_mismatched_bytes",
				       json_object_new_uint64(pr->padding_bytes));
		json_object_array_add(a, p);
	}
	return a;
}

static void report_json(const struct verify_opts *o, const struct subject *sub,
			const struct outcome *out, struct json_object *doc)
{
	struct json_object *src = json_object_new_object(), *prov = NULL, *seen;
	const struct fdx_object *obj = &out->obj;
	char buf[64];

	if (o->file) {
		json_object_object_add(src, "file", json_object_new_string(o->file));
	} else {
		json_object_object_add(src, "pid", json_object_new_int(o->pid));
		json_object_object_add(src, "fd", json_object_new_int(o->fd));
	}
	json_object_object_add(src, "target", json_object_new_string(sub->target));
	json_object_object_add(src, "size", json_object_new_uint64(sub->file_size));
	json_object_object_add(src, "seals", seals_json(sub->seals));
	json_object_object_add(doc, "source", src);
	if (sub->named) {
		prov = json_object_new_object();
		json_object_object_add(prov, "pid", json_object_new_int64(sub->prov.pid));
		json_object_object_add(prov, "session",
				       json_object_new_int64(sub->prov.session));
		json_object_object_add(prov, "index",
				       json_object_new_uint64(sub->prov.index));
		json_object_object_add(
			prov, "plane",
			sub->prov.plane < 0 ? NULL : json_object_new_int(sub->prov.plane));
		json_object_object_add(
			prov, "seed",
			sub->prov.has_seed ? json_object_new_uint64(sub->prov.seed) : NULL);
	}
	json_object_object_add(doc, "provenance", prov);
	json_object_object_add(
		doc, "kind",
		json_object_new_string(obj->kind == FDX_KIND_IMAGE ? "image" : "raw"));
	json_object_object_add(doc, "format",
			       json_object_new_string(fdx_format_name(obj->format)));
	json_object_object_add(doc, "width", json_object_new_int64(obj->width));
	json_object_object_add(doc, "height", json_object_new_int64(obj->height));
	json_object_object_add(doc, "plane",
			       o->plane < 0 ? NULL : json_object_new_int(o->plane));
	json_object_object_add(doc, "needed_bytes", json_object_new_uint64(out->needed));
	json_object_object_add(doc, "unchecked_bytes", json_object_new_uint64(out->extra));
	if (obj->content == FDX_CONTENT_PATTERN) {
		json_object_object_add(doc, "seed", json_object_new_uint64(out->chk.seed));
		json_object_object_add(doc, "frame",
				       json_object_new_uint64(out->chk.frame));
		json_object_object_add(
			doc, "frame_from",
			json_object_new_string(frame_from_names[out->frame_from]));
	} else {
		snprintf(buf, sizeof(buf), "xxh3:%016" PRIx64, obj->checksum);
		json_object_object_add(doc, "checksum", json_object_new_string(buf));
		snprintf(buf, sizeof(buf), "xxh3:%016" PRIx64, out->res.checksum);
		/* of a file short of pixels there is no checksum to give */
		json_object_object_add(
			doc, "computed_checksum",
			out->truncated || out->shrank ? NULL : json_object_new_string(buf));
	}
	seen = json_object_new_array();
	for (unsigned i = 0; i < out->nseen; i++)
		json_object_array_add(seen, json_object_new_uint64(out->seen[i]));
	json_object_object_add(doc, "tries", json_object_new_int(out->tries));
	json_object_object_add(doc, "changing", json_object_new_boolean(out->changing));
	json_object_object_add(doc, "frames_seen", seen);
	json_object_object_add(doc, "verdict",
			       json_object_new_string(fdx_verdict_name(out->res.verdict)));
	json_object_object_add(doc, "truncated",
			       json_object_new_boolean(out->truncated || out->shrank));
	json_object_object_add(
		doc, "first_mismatch",
		out->res.total.first_mismatch == FDX_NO_OFFSET
			? NULL
			: json_object_new_uint64(out->res.total.first_mismatch));
	json_object_object_add(doc, "mismatched_bytes",
			       json_object_new_uint64(out->res.total.mismatched_bytes));
	json_object_object_add(doc, "planes", plane_results_json(o, out));
	json_object_object_add(doc, "diagnosis", report_diagnosis_json(&out->diag));
	if (o->map && !out->map_err) {
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "file", json_object_new_string(o->map));
		json_object_object_add(m, "width", json_object_new_int(out->map_w));
		json_object_object_add(m, "height", json_object_new_int(out->map_h));
		json_object_object_add(m, "cell_bytes", json_object_new_int(out->map_cell));
		json_object_object_add(doc, "map", m);
	} else {
		json_object_object_add(doc, "map", NULL);
	}
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "(found by search)", "(given)", or why none was found. */
static const char *frame_origin(const struct verify_opts *o, const struct outcome *out,
				char *buf, size_t cap)
{
	switch (out->frame_from) {
	case FRAME_OPTION:
		return "given";
	case FRAME_SEARCH:
		return "found by search";
	case FRAME_EMPTY:
		return "too little in the file to search for one";
	}
	snprintf(buf, cap,
		 "%s: no frame matched near it or below %" PRIu64
		 "; give --frame, or a larger --search",
		 out->frame_from == FRAME_NAME ? "the name's index" : "a guess", o->search);
	return buf;
}

static void report_text(const struct verify_opts *o, const struct subject *sub,
			const struct outcome *out)
{
	const struct fdx_object *obj = &out->obj;
	char seals[64], shape[64], what[128], origin[160];

	/* the path only once, unless /proc says more (a memfd behind /proc/PID/fd/N) */
	char *real = o->file ? realpath(o->file, NULL) : NULL;
	struct stat lst;
	/* a link (/proc/PID/fd/N, say) shows what it stands for */
	bool same = real && !strcmp(sub->target, real) &&
		    !(lstat(o->file, &lst) == 0 && S_ISLNK(lst.st_mode));

	free(real);
	if (same)
		cli_info("%s: %" PRIu64 " bytes, seals %s", sub->desc, sub->file_size,
			 fdx_seals_str(sub->seals, seals, sizeof(seals)));
	else
		cli_info("%s: %s, %" PRIu64 " bytes, seals %s", sub->desc, sub->target,
			 sub->file_size, fdx_seals_str(sub->seals, seals, sizeof(seals)));
	if (sub->named)
		cli_info("made by fdx, pid %" PRIu32 ", session %" PRIu32
			 ": object %" PRIu64 "%s%s",
			 sub->prov.pid, sub->prov.session, sub->prov.index,
			 sub->prov.plane >= 0 ? ", one plane" : "",
			 sub->prov.has_seed ? ", pattern" : ", checksum");
	if (obj->kind == FDX_KIND_IMAGE && o->plane >= 0)
		snprintf(what, sizeof(what), "plane %d of a %s image", o->plane,
			 fdx_object_shape(obj, shape, sizeof(shape)));
	else if (obj->kind == FDX_KIND_IMAGE)
		snprintf(what, sizeof(what), "a %s image",
			 fdx_object_shape(obj, shape, sizeof(shape)));
	else
		snprintf(what, sizeof(what), "%" PRIu64 " raw bytes", out->needed);
	if (obj->content == FDX_CONTENT_CHECKSUM)
		cli_info("checked as %s against checksum xxh3:%016" PRIx64, what,
			 obj->checksum);
	else
		cli_info("checked as %s against the pattern of seed 0x%" PRIx64
			 ", frame %" PRIu64 " (%s)",
			 what, out->chk.seed, out->chk.frame,
			 frame_origin(o, out, origin, sizeof(origin)));
	if (out->extra)
		cli_info("the last %" PRIu64
			 " %s of the file %s past the layout: not checked",
			 out->extra, plural(out->extra, "byte", "bytes"),
			 plural(out->extra, "lies", "lie"));
	for (unsigned i = 0; obj->kind == FDX_KIND_IMAGE && i < obj->nplanes; i++) {
		const struct fdx_plane_result *pr = &out->res.planes[i];
		uint64_t wrong = pr->pixel_bytes + pr->padding_bytes;

		if (!map_drawn(o, i))
			continue;
		if (!out->avail[i])
			cli_info("plane %u: not in the file", i);
		else if (out->avail[i] < obj->planes[i].size)
			cli_info("plane %u: only %" PRIu64 " of its %" PRIu64
				 " bytes are in the file",
				 i, out->avail[i], obj->planes[i].size);
		if (pr->first_mismatch != FDX_NO_OFFSET)
			cli_info("plane %u: %" PRIu64 " wrong %s (%" PRIu64
				 " in padding), the first at %" PRIu64,
				 i, wrong, plural(wrong, "byte", "bytes"),
				 pr->padding_bytes, pr->first_mismatch);
	}
	if (o->map && !out->map_err)
		cli_info("map: %s, %ux%u, a pixel per %ux%u bytes", o->map, out->map_w,
			 out->map_h, out->map_cell, out->map_cell);
}

/* The verdict line: stdout when right, stderr (with the why) when not. */
static void report_verdict(const struct verify_opts *o, const struct subject *sub,
			   const struct outcome *out)
{
	char detail[256], why[160];

	if (out->shrank) {
		cli_err("%s: truncated: it shrank while it was read (it has no shrink seal)",
			sub->desc);
		return;
	}
	if (out->truncated) {
		cli_err("%s: truncated: %" PRIu64 " %s, %s needs %" PRIu64, sub->desc,
			sub->file_size, plural(sub->file_size, "byte", "bytes"),
			o->plane >= 0 ? "the plane" : "the object", out->needed);
		return;
	}
	if (out->changing) {
		char frames[200];
		size_t used = 0;

		frames[0] = '\0';
		for (unsigned i = 0; i < out->nseen && used < sizeof(frames); i++)
			used += (size_t)snprintf(frames + used, sizeof(frames) - used,
						 "%s%" PRIu64, i ? ", " : "", out->seen[i]);
		cli_err("%s is being written while it is read: it held %s %s when %s began "
			"(%u %s); a buffer its producer reuses, not one its consumer holds",
			sub->desc, plural(out->nseen, "frame", "frames"), frames,
			out->nseen == 1 ? "the read" : "each read", out->tries,
			plural(out->tries, "try", "tries"));
		return;
	}
	if (out->res.verdict == FDX_VERDICT_OK) {
		if (out->obj.content == FDX_CONTENT_PATTERN)
			cli_info("ok: it holds frame %" PRIu64, out->chk.frame);
		else
			cli_info("ok: the checksum matches");
		return;
	}
	report_mismatch_detail(&out->chk, &out->res, detail, sizeof(detail));
	if (out->obj.content == FDX_CONTENT_CHECKSUM) {
		cli_err("%s differs%s", sub->desc, detail);
		return;
	}
	fdx_diagnosis_describe(&out->diag, why, sizeof(why));
	cli_err("%s differs from the pattern at offset %" PRIu64 "%s; %s", sub->desc,
		out->res.total.first_mismatch, detail, why);
}

/* ---- options ---- */

static int parse_strides(struct verify_opts *o, const char *s)
{
	const char *t = s;

	for (;;) {
		size_t len = strcspn(t, ",");
		char num[32];

		if (!len || len >= sizeof(num) || o->nstrides == FDX_MAX_PLANES) {
			cli_err("--stride: '%s' is not a list of up to %u byte counts", s,
				FDX_MAX_PLANES);
			return -EINVAL;
		}
		memcpy(num, t, len);
		num[len] = '\0';
		if (cli_parse_u64("--stride", num, 1, UINT32_MAX, false,
				  &o->strides[o->nstrides++]) < 0)
			return -EINVAL;
		if (!t[len])
			return 0;
		t += len + 1;
	}
}

static int parse_checksum(const char *s, uint64_t *out)
{
	const char *hex = strncmp(s, "xxh3:", 5) == 0 ? s + 5 : s;
	char buf[24];

	if (!*hex || strlen(hex) > 16 ||
	    strspn(hex, "0123456789abcdefABCDEF") != strlen(hex)) {
		cli_err("--checksum: '%s' is not xxh3:HEX (up to 16 hex digits)", s);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "0x%s", hex);
	return cli_parse_u64("--checksum", buf, 0, UINT64_MAX, false, out);
}

/* Check the options against each other and against what the name says. */
static int settle(struct verify_opts *o, const struct subject *sub)
{
	if (o->plane < 0 && sub->named && sub->prov.plane >= 0)
		o->plane = sub->prov.plane;
	if (o->plane >= 0 && o->checksum_given) {
		cli_err("%s holds one plane; a checksum covers the pixels of every plane",
			o->plane_given ? "--plane: the file" : sub->desc);
		return -EINVAL;
	}
	if (o->plane >= 0 && !o->img.format_given) {
		if (o->plane_given)
			cli_err("--plane needs --format, --width and --height to place the plane");
		else
			cli_err("%s holds one plane of an image: give --format, --width and "
				"--height to place it",
				sub->desc);
		return -EINVAL;
	}
	if (o->plane >= 0) {
		const struct fdx_format_desc *d = fdx_format_desc(o->img.formats[0]);

		if ((unsigned)o->plane >= d->nplanes) {
			cli_err("--plane %d: %s has %u plane%s", o->plane, d->name,
				d->nplanes, d->nplanes == 1 ? "" : "s");
			return -EINVAL;
		}
	}
	return 0;
}

static int verify_main(int argc, const char **argv)
{
	const char *pid_s = NULL, *fd_s = NULL, *seed_s = NULL, *frame_s = NULL;
	const char *sum_s = NULL, *size_s = NULL, *stride_s = NULL, *plane_s = NULL;
	const char *search_s = NULL, *map_s = NULL;
	struct imageopts_args ia = { 0 };
	struct verify_opts o = { .plane = -1, .search = DEFAULT_SEARCH };
	struct poptOption options[] = {
		{ "pid", 'p', POPT_ARG_STRING, &pid_s, 0,
		  "verify a live fd of process PID (with --fd), through pidfd_getfd",
		  "PID" },
		{ "fd", '\0', POPT_ARG_STRING, &fd_s, 0, "the fd number in that process",
		  "N" },
		{ "seed", '\0', POPT_ARG_STRING, &seed_s, 0,
		  "the pattern's seed (default: from an fdx buffer name, else 1)", "N" },
		{ "frame", '\0', POPT_ARG_STRING, &frame_s, 0,
		  "the frame it should hold (default: find the frame it holds)", "N" },
		{ "checksum", '\0', POPT_ARG_STRING, &sum_s, 0,
		  "check the XXH3-64 of the pixel bytes instead of a pattern", "xxh3:HEX" },
		{ "format", '\0', POPT_ARG_STRING, &ia.format, 0,
		  "an image of this format (default: raw bytes)", "F" },
		{ "width", '\0', POPT_ARG_STRING, &ia.width, 0, "image width in pixels",
		  "PIXELS" },
		{ "height", '\0', POPT_ARG_STRING, &ia.height, 0, "image height in pixels",
		  "PIXELS" },
		{ "align", '\0', POPT_ARG_STRING, &ia.align, 0,
		  "rows rounded up to a multiple of BYTES, as serve --align makes them",
		  "BYTES" },
		{ "stride", '\0', POPT_ARG_STRING, &stride_s, 0,
		  "bytes per row: one for all planes (in proportion) or one per plane",
		  "S[,S...]" },
		{ "plane", '\0', POPT_ARG_STRING, &plane_s, 0,
		  "the file holds only this plane of the image, from offset 0 (default: the "
		  "plane an fdx buffer name gives)",
		  "P" },
		{ "size", '\0', POPT_ARG_STRING, &size_s, 0,
		  "raw bytes the buffer should hold (default: its size); more is truncation",
		  "BYTES" },
		{ "search", '\0', POPT_ARG_STRING, &search_s, 0,
		  "frames tried from 0 when none is near the name's index (default 4194304)",
		  "N" },
		{ "map", '\0', POPT_ARG_STRING, &map_s, 0,
		  "write a picture of where the wrong bytes are (PGM, a pixel per block)",
		  "FILE.pgm" },
		{ "json", '\0', POPT_ARG_NONE, &cli.json, 0,
		  "print a JSON report on stdout", NULL },
		{ "quiet", 'q', POPT_ARG_NONE, &cli.quiet, 0, "print nothing but errors",
		  NULL },
		CLI_HELP_TABLE,
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext(argv[0], argc, argv, options, 0);
	struct fdx_buffer b = FDX_BUFFER_INIT;
	struct subject sub = { .fd = -1 };
	struct outcome out = { .frame_from = FRAME_NONE };
	struct json_object *doc = NULL;
	const char **args;
	uint64_t v;
	int rc;

	rc = cli_parse_with_args(pc, "[OPTIONS] FILE | --pid PID --fd N");
	if (rc >= 0)
		goto out;
	if (imageopts_help(&ia, false)) {
		rc = FDX_EXIT_OK;
		goto out;
	}
	rc = FDX_EXIT_USAGE;
	args = poptGetArgs(pc);
	if (args && args[0] && args[1]) {
		cli_err("unexpected argument '%s': one buffer at a time", args[1]);
		goto out;
	}
	o.file = args ? args[0] : NULL;
	if (o.file && (pid_s || fd_s)) {
		cli_err("give FILE or --pid, not both");
		goto out;
	}
	if (!pid_s != !fd_s) {
		cli_err(pid_s ? "--pid needs --fd N" : "--fd needs --pid PID");
		goto out;
	}
	if (!o.file && !pid_s) {
		cli_err("give a FILE, or --pid PID --fd N\nTry '%s --help' for more "
			"information.",
			cli_prog);
		goto out;
	}
	if (pid_s) {
		if (cli_parse_u64("--pid", pid_s, 1, INT32_MAX, false, &v) < 0)
			goto out;
		o.pid = (pid_t)v;
		if (cli_parse_u64("--fd", fd_s, 0, INT32_MAX, false, &v) < 0)
			goto out;
		o.fd = (int)v;
	}
	if ((seed_s &&
	     cli_parse_u64("--seed", seed_s, 0, UINT64_MAX, false, &o.seed) < 0) ||
	    (frame_s &&
	     cli_parse_u64("--frame", frame_s, 0, UINT64_MAX, false, &o.frame) < 0) ||
	    (size_s && cli_parse_u64("--size", size_s, 1, INT64_MAX, true, &o.size) < 0) ||
	    (search_s &&
	     cli_parse_u64("--search", search_s, 0, UINT64_MAX, false, &o.search) < 0) ||
	    (sum_s && parse_checksum(sum_s, &o.checksum) < 0) ||
	    (stride_s && parse_strides(&o, stride_s) < 0))
		goto out;
	if (plane_s) {
		if (cli_parse_u64("--plane", plane_s, 0, FDX_MAX_PLANES - 1, false, &v) < 0)
			goto out;
		o.plane = (int)v;
		o.plane_given = true;
	}
	o.seed_given = seed_s;
	o.frame_given = frame_s;
	o.checksum_given = sum_s;
	o.size_given = size_s;
	o.map = map_s;
	if (sum_s && (seed_s || frame_s)) {
		cli_err("--checksum and --%s exclude each other: a buffer holds a pattern or a "
			"picture",
			seed_s ? "seed" : "frame");
		goto out;
	}
	if (sum_s && map_s) {
		cli_err("--map needs the pattern: a checksum says that bytes are wrong, not "
			"where");
		goto out;
	}
	if (imageopts_parse(&o.img, &ia, "raw") < 0)
		goto out;
	if (o.img.format_given &&
	    (o.img.nformats != 1 || o.img.formats[0] == FDX_FORMAT_RAW)) {
		cli_err("--format: one image format (raw buffers need no --format)");
		goto out;
	}
	if (o.img.format_given && (!ia.width || !ia.height)) {
		cli_err("--format needs --width and --height");
		goto out;
	}
	if (!o.img.format_given && (ia.width || ia.height || ia.align || stride_s)) {
		cli_err("--%s needs --format", ia.width	   ? "width"
					       : ia.height ? "height"
					       : ia.align  ? "align"
							   : "stride");
		goto out;
	}
	if (ia.align && stride_s) {
		cli_err("--align and --stride exclude each other");
		goto out;
	}
	if (o.img.format_given && size_s) {
		cli_err("--size is for raw buffers; an image's size follows from its layout");
		goto out;
	}

	/* what --plane alone says is wrong needs no file; the name's plane comes later */
	if (o.plane_given && settle(&o, &sub) < 0)
		goto out;
	/* from here on a failure still gets its JSON report, with the reason */
	rc = open_subject(&o, &sub);
	if (rc >= 0)
		goto failed;
	rc = FDX_EXIT_USAGE;
	if (settle(&o, &sub) < 0 || describe(&o, &sub, &out) < 0)
		goto failed;
	rc = guarded_check(&o, &sub, &out, &b);
	if (rc >= 0)
		goto failed;
	rc = out.res.verdict == FDX_VERDICT_OK ? FDX_EXIT_OK : FDX_EXIT_MISMATCH;
	if (cli.json) {
		doc = json_object_new_object();
		report_json(&o, &sub, &out, doc);
	} else {
		report_text(&o, &sub, &out);
	}
	report_verdict(&o, &sub, &out);
	if (o.map && out.map_err) {
		cli_err("cannot write the map '%s': %s", o.map, strerror(-out.map_err));
		rc = FDX_EXIT_SYSTEM;
		if (doc)
			json_object_object_add(doc, "error",
					       json_object_new_string(cli_last_error()));
	}
	if (doc)
		cli_print_json(doc, rc);
	goto out;
failed:
	if (cli.json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "error",
				       json_object_new_string(cli_last_error()));
		cli_print_json(doc, rc);
	}
out:
	fdx_buffer_release(&b);
	if (sub.fd >= 0)
		close(sub.fd);
	free((char *)pid_s);
	free((char *)fd_s);
	free((char *)seed_s);
	free((char *)frame_s);
	free((char *)sum_s);
	free((char *)size_s);
	free((char *)stride_s);
	free((char *)plane_s);
	free((char *)search_s);
	free((char *)map_s);
	imageopts_free(&ia);
	poptFreeContext(pc);
	return rc;
}

const struct fdx_cmd fdx_cmd_verify = {
	.name = "verify",
	.run = verify_main,
	.summary = "check a buffer outside a session: a file, or a live fd of a process",
};
