/* cmd-send-image.c - `fdx send-image`: a producer client; sends pictures (PNM or raw) or
 * synthetic pattern images as sealed buffers to whatever consumer listens */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backendopts.h"
#include "channel.h"
#include "cli.h"
#include "fdx.h"
#include "image.h"
#include "imageopts.h"
#include "object.h"
#include "produce.h"
#include "provenance.h"
#include "report.h"
#include "session.h"

#define MAX_FILE_BYTES (4ull << 30) /* a picture larger than 4 GiB is a mistake */
#define MAX_IMAGES     4096u

/* One picture to send: a PNM image of a file (a file may hold several), or raw pixels. */
struct picture {
	const char *file; /* as given; "-" is standard input */
	unsigned nth;	  /* image number within its file, from 1 */
	bool raw;	  /* raw pixels in the target format, tightly packed */
	struct fdx_pnm pnm;
	const uint8_t *data; /* raw: the pixels */
	struct fdx_object layout;
};

struct send_opts {
	double wait;
	uint64_t count; /* synthetic images */
	uint64_t seed;
	int force_raw;
	struct imageopts img;
	bool size_given; /* --width or --height */
	struct picture *pics;
	unsigned npics;
	uint8_t **files; /* file contents, freed at the end */
	unsigned nfiles;
	struct fdx_backend_spec backend; /* --backend, --dir */
};

/* Read a whole file (or standard input for "-") into memory. */
static int slurp(const char *path, uint8_t **out, size_t *len)
{
	bool std_in = !strcmp(path, "-");
	int fd = std_in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = NULL;
	struct stat st;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	for (;;) {
		ssize_t k;

		if (n == cap || !buf) {
			uint8_t *nb;

			if (buf)
				cap *= 2;
			if (cap > MAX_FILE_BYTES + 1) {
				r = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
out:
	if (!std_in)
		close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The format a picture goes out in: --format taken in turn, else the file's own. */
static unsigned target_format(const struct send_opts *o, unsigned k,
			      const struct fdx_pnm *p)
{
	/* --align or --fd-per-plane alone change the layout, not the format */
	if (o->img.format_given)
		return o->img.formats[k % o->img.nformats];
	if (p->channels == 3)
		return FDX_FORMAT_RGB24;
	return fdx_pnm_sample_bytes(p) == 2 ? FDX_FORMAT_U16 : FDX_FORMAT_U8;
}

static int add_picture(struct send_opts *o, const struct picture *pic)
{
	struct picture *n;

	if (o->npics == MAX_IMAGES) {
		cli_err("more than %u images to send", MAX_IMAGES);
		return -E2BIG;
	}
	n = realloc(o->pics, (o->npics + 1) * sizeof(*n));
	if (!n) {
		cli_err("out of memory");
		return -ENOMEM;
	}
	o->pics = n;
	o->pics[o->npics++] = *pic;
	return 0;
}

/* Raw pixels: the file must hold exactly one tightly packed image of --format. */
static int load_raw(struct send_opts *o, const char *file, const uint8_t *data, size_t len)
{
	struct picture pic = { .file = file, .nth = 1, .raw = true, .data = data };
	struct imageopts tight = o->img;
	struct fdx_object packed;
	unsigned f;

	if (!o->img.format_given || o->img.nformats != 1 || !o->size_given) {
		cli_err("'%s' is not a PNM image: to send raw pixels give --format (one "
			"format), --width and --height",
			file);
		return -EINVAL;
	}
	f = o->img.formats[0];
	if (f == FDX_FORMAT_RAW) {
		cli_err("'%s': --format raw has no pixels; give the format the bytes are in",
			file);
		return -EINVAL;
	}
	tight.align = 1;
	tight.fd_per_plane = false;
	if (imageopts_layout(&tight, f, o->img.width, o->img.height, 0, file, &packed) < 0)
		return -EINVAL;
	if (packed.size != len) {
		cli_err("'%s' has %zu bytes; a %" PRIu32 "x%" PRIu32
			" %s image has %" PRIu64,
			file, len, o->img.width, o->img.height, fdx_format_name(f),
			packed.size);
		return -EINVAL;
	}
	if (imageopts_layout(&o->img, f, o->img.width, o->img.height, 0, file,
			     &pic.layout) < 0)
		return -EINVAL;
	return add_picture(o, &pic);
}

/* Every PNM image of a file, one after the other. */
static int load_pnm(struct send_opts *o, const char *file, const uint8_t *data, size_t len)
{
	size_t off = 0;

	for (unsigned nth = 1; off < len; nth++) {
		struct picture pic = { .file = file, .nth = nth };
		char why[160], subject[300];
		unsigned f;
		int r = fdx_pnm_parse(data + off, len - off, &pic.pnm, why, sizeof(why));

		if (r < 0) {
			if (nth == 1)
				cli_err("'%s': %s", file, why);
			else
				cli_err("'%s', image %u: %s", file, nth, why);
			return -EINVAL;
		}
		if (o->size_given &&
		    (pic.pnm.width != o->img.width || pic.pnm.height != o->img.height)) {
			cli_err("'%s' is %" PRIu32 "x%" PRIu32
				": --width and --height are for "
				"raw pixels and synthetic images, and pictures are not scaled",
				file, pic.pnm.width, pic.pnm.height);
			return -EINVAL;
		}
		f = target_format(o, o->npics, &pic.pnm);
		if (f == FDX_FORMAT_RAW) {
			cli_err("'%s': a picture goes out as an image format, not raw",
				file);
			return -EINVAL;
		}
		snprintf(subject, sizeof(subject), "'%s'", file);
		if (imageopts_layout(&o->img, f, pic.pnm.width, pic.pnm.height, 0, subject,
				     &pic.layout) < 0)
			return -EINVAL;
		r = add_picture(o, &pic);
		if (r < 0)
			return r;
		off += pic.pnm.header_size + pic.pnm.size;
		/* whitespace after the last raster is not another image */
		while (off < len && (data[off] == '\n' || data[off] == ' ' ||
				     data[off] == '\r' || data[off] == '\t'))
			off++;
	}
	return 0;
}

/* Read every FILE; returns -1 to go on, or an exit status. */
static int load_files(struct send_opts *o, const char **files)
{
	for (unsigned i = 0; files && files[i]; i++) {
		uint8_t *data = NULL, **nf;
		size_t len = 0;
		int r = slurp(files[i], &data, &len);

		if (r < 0) {
			cli_err("cannot read '%s': %s", files[i],
				r == -EFBIG ? "larger than 4 GiB" : strerror(-r));
			return FDX_EXIT_SYSTEM;
		}
		nf = realloc(o->files, (o->nfiles + 1) * sizeof(*nf));
		if (!nf) {
			free(data);
			cli_err("out of memory");
			return FDX_EXIT_SYSTEM;
		}
		o->files = nf;
		o->files[o->nfiles++] = data;
		if (len == 0) {
			cli_err("'%s' is empty", files[i]);
			return FDX_EXIT_USAGE;
		}
		if (!o->force_raw && len >= 2 && data[0] == 'P' && data[1] >= '1' &&
		    data[1] <= '7')
			r = load_pnm(o, files[i], data, len);
		else
			r = load_raw(o, files[i], data, len);
		if (r < 0)
			return r == -ENOMEM ? FDX_EXIT_SYSTEM : FDX_EXIT_USAGE;
	}
	return -1;
}

/* Synthetic images: the fdx pattern in --format at --width x --height. */
static int add_synthetic(struct send_opts *o)
{
	for (uint64_t i = 0; i < o->count; i++) {
		struct picture pic = { .nth = (unsigned)i + 1 };
		unsigned f = o->img.formats[i % o->img.nformats];

		if (f == FDX_FORMAT_RAW) {
			cli_err("--format raw: send-image sends images; 'fdx serve --format raw' "
				"makes raw buffers");
			return FDX_EXIT_USAGE;
		}
		if (imageopts_layout(&o->img, f, o->img.width, o->img.height, 0, NULL,
				     &pic.layout) < 0)
			return FDX_EXIT_USAGE;
		if (add_picture(o, &pic) < 0)
			return FDX_EXIT_USAGE;
	}
	return -1;
}

/* Put picture i into its buffers, converted, and describe its content. */
static int make_object(void *ctx, uint64_t i, struct fdx_held *h, char *err, size_t errcap)
{
	const struct send_opts *o = ctx;
	const struct picture *pic = &o->pics[i];
	struct fdx_provenance prov = { .pid = (uint32_t)getpid(), .index = i, .plane = -1 };
	struct fdx_object obj = pic->layout;
	uint8_t *planes[FDX_MAX_PLANES] = { NULL };
	char why[400];
	int r, e;

	obj.backend = o->backend.backend;
	if (!pic->file) {
		obj.content = FDX_CONTENT_PATTERN;
		obj.seed = o->seed;
		obj.frame = i;
		prov.has_seed = true;
		prov.seed = o->seed;
	} else {
		obj.content = FDX_CONTENT_CHECKSUM;
	}
	r = fdx_held_make(h, &obj, &prov, &o->backend, FDX_BUF_POPULATE, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errcap,
			 "cannot allocate buffer %" PRIu64 " (%" PRIu64 " bytes): %s", i,
			 obj.size, why);
		return r;
	}
	for (unsigned k = 0; k < obj.nplanes; k++)
		planes[k] = fdx_held_plane(h, k);
	/* a DMA-BUF is told that the CPU writes it; the other kinds ignore this */
	r = fdx_held_cpu_begin(h, true);
	if (r < 0) {
		snprintf(err, errcap,
			 "cannot fill buffer %" PRIu64 " (DMA_BUF_IOCTL_SYNC): %s", i,
			 strerror(-r));
		return r;
	}
	if (!pic->file) {
		struct fdx_pattern p;

		fdx_pattern_init(&p, o->seed, i);
		fdx_held_fill(h, &p, 0, obj.size);
		return fdx_held_cpu_end(h, true);
	}
	if (pic->raw) {
		/* the file's rows are packed; the buffer's may be padded (--align) */
		const uint8_t *src = pic->data;

		for (unsigned k = 0; k < obj.nplanes; k++) {
			uint64_t row = fdx_image_row_bytes(&obj, k);

			for (uint32_t y = 0; y < obj.planes[k].height; y++, src += row)
				memcpy(planes[k] + (size_t)y * obj.planes[k].stride, src,
				       (size_t)row);
		}
		r = 0;
	} else {
		r = fdx_image_from_pnm(&obj, planes, &pic->pnm);
	}
	if (r == 0)
		r = fdx_held_checksum(h, &h->obj.checksum);
	e = fdx_held_cpu_end(h, true);
	if (r < 0)
		snprintf(err, errcap, "cannot convert '%s' to %s: %s", pic->file,
			 fdx_format_name(obj.format), strerror(-r));
	else if (e < 0)
		snprintf(err, errcap,
			 "cannot fill buffer %" PRIu64 " (DMA_BUF_IOCTL_SYNC): %s", i,
			 strerror(-e));
	return r < 0 ? r : e;
}

struct ack_ctx {
	const struct send_opts *o;
	struct json_object *objects;
};

/* A line (or JSON entry) per object, once the consumer has judged it. */
static void on_ack(void *ctx, const struct fdx_held *h, const struct fdx_object_ack *ack)
{
	const struct ack_ctx *c = ctx;
	const struct picture *pic = &c->o->pics[h->obj.index];
	char src[300], summary[128];

	if (!pic->file)
		snprintf(src, sizeof(src), "synthetic, seed %" PRIu64, h->obj.seed);
	else if (pic->nth > 1 ||
		 (pic + 1 < c->o->pics + c->o->npics && pic[1].file == pic->file))
		snprintf(src, sizeof(src), "%s, image %u", pic->file, pic->nth);
	else
		snprintf(src, sizeof(src), "%s", pic->file);
	report_object_summary(&h->obj, summary, sizeof(summary));
	if (c->objects) {
		struct json_object *j = json_object_new_object();
		char sum[32];

		json_object_object_add(j, "index", json_object_new_int64(h->obj.index));
		json_object_object_add(
			j, "source", pic->file ? json_object_new_string(pic->file) : NULL);
		json_object_object_add(j, "image", json_object_new_int64(pic->nth));
		json_object_object_add(
			j, "format",
			json_object_new_string(fdx_format_name(h->obj.format)));
		json_object_object_add(j, "width", json_object_new_int64(h->obj.width));
		json_object_object_add(j, "height", json_object_new_int64(h->obj.height));
		json_object_object_add(j, "size", json_object_new_uint64(h->obj.size));
		json_object_object_add(j, "fds", json_object_new_int64(h->nbufs));
		snprintf(sum, sizeof(sum), "xxh3:%016" PRIx64, h->obj.checksum);
		json_object_object_add(
			j, "content",
			json_object_new_string(pic->file ? "checksum" : "pattern"));
		json_object_object_add(j, "checksum",
				       pic->file ? json_object_new_string(sum) : NULL);
		json_object_object_add(
			j, "verdict",
			json_object_new_string(fdx_verdict_name(ack->verdict)));
		json_object_array_add(c->objects, j);
		return;
	}
	if (pic->file)
		cli_info("object %" PRIu32 ": %s, %s, xxh3:%016" PRIx64 ": %s",
			 h->obj.index, src, summary, h->obj.checksum,
			 fdx_verdict_name(ack->verdict));
	else
		cli_info("object %" PRIu32 ": %s, %s: %s", h->obj.index, src, summary,
			 fdx_verdict_name(ack->verdict));
	if (ack->verdict == FDX_VERDICT_MISMATCH)
		cli_err("the consumer found object %" PRIu32 " (%s) wrong", h->obj.index,
			src);
}

static int send_all(const char *path, const struct send_opts *o, struct json_object *doc)
{
	struct fdx_hello hello = {
		.role = FDX_ROLE_PRODUCER,
		.caps = FDX_CAP_PATTERN | FDX_CAP_CHECKSUM,
		.pid = (uint32_t)getpid(),
		.max_fds = FDX_MAX_PLANES,
		.max_objects = 1, /* a producer takes none; 0 is not a valid limit */
		.name = "fdx-send-image",
	};
	struct ack_ctx actx = { .o = o, .objects = doc ? json_object_new_array() : NULL };
	struct produce_report rep = { .on_ack = on_ack, .on_ack_ctx = &actx };
	struct fdx_held *objs = NULL;
	struct fdx_session s;
	char counts[192];
	int fd = -1, rc, r;

	r = cli_connect_wait(path, o->wait, &fd);
	if (r < 0) {
		rc = cli_connect_error(path, o->wait, r, doc);
		goto out;
	}
	fdx_session_init(&s, fd, false, &hello);
	s.trace = cli_trace;
	r = cli_session_setup(&s);
	if (r >= 0)
		r = cli_session_admit(&s, path, false, true);
	if (r >= 0)
		r = fdx_session_handshake(&s);
	if (r >= 0) {
		char be[128];

		cli_info("connected to %s: server pid %" PRIu32 " (%s), protocol %u.%u; "
			 "backend %s",
			 path, s.peer.pid, s.peer.name, s.peer_major, s.peer_minor,
			 backendopts_describe(&o->backend, NULL, be, sizeof(be)));
		if (doc)
			json_object_object_add(doc, "server", cli_peer_json(&s));
		if (o->npics > s.peer.max_objects) {
			r = fdx_session_fail(&s, -E2BIG,
					     "the consumer takes at most %" PRIu32
					     " objects, there are %u to send",
					     s.peer.max_objects, o->npics);
			fdx_session_send_error(&s, FDX_EXIT_PEER, fdx_session_error(&s));
		}
	}
	if (r >= 0) {
		objs = calloc(o->npics, sizeof(*objs));
		if (!objs) {
			r = fdx_session_fail(&s, -ENOMEM, "out of memory");
			fdx_session_send_error(&s, FDX_EXIT_SYSTEM, fdx_session_error(&s));
		}
	}
	if (r >= 0)
		r = produce_objects(&s, o->npics, make_object, (void *)o, objs, &rep);
	if (r >= 0)
		r = produce_finish(&s, &rep);
	for (unsigned i = 0; objs && i < o->npics; i++)
		fdx_held_release(&objs[i]);
	free(objs);
	if (r < 0) {
		cli_err("%s", fdx_session_error(&s));
		if (doc)
			json_object_object_add(
				doc, "error",
				json_object_new_string(fdx_session_error(&s)));
	} else {
		cli_info("sent %s", produce_counts(&rep, counts, sizeof(counts)));
	}
	rc = produce_exit(&rep, r);
	fdx_session_cleanup(&s);
	close(fd);
out:
	if (doc) {
		json_object_object_add(doc, "objects", json_object_get(actx.objects));
		json_object_object_add(doc, "sent", json_object_new_uint64(rep.objects));
		json_object_object_add(doc, "ok", json_object_new_uint64(rep.ok));
		json_object_object_add(doc, "mismatch",
				       json_object_new_uint64(rep.mismatch));
		json_object_object_add(doc, "unchecked",
				       json_object_new_uint64(rep.unchecked));
	}
	json_object_put(actx.objects);
	return rc;
}

static int send_image_main(int argc, const char **argv)
{
	const char *wait_s = NULL, *count_s = NULL, *seed_s = NULL;
	struct imageopts_args ia = { 0 };
	struct backendopts_args ba = { 0 };
	struct send_opts o = { .wait = 5, .count = 1, .seed = 1 };
	struct poptOption options[] = {
		IMAGEOPTS_TABLE(
			ia, "send as this format, or these in turn (default: the "
			    "picture's own, rgb24 or u8/u16; nv12 for synthetic images)"),
		{ "raw", '\0', POPT_ARG_NONE, &o.force_raw, 0,
		  "read every FILE as raw pixels in --format, even if it looks like a PNM",
		  NULL },
		{ "count", 'n', POPT_ARG_STRING, &count_s, 0,
		  "without FILE: how many synthetic images to send (default 1)", "N" },
		{ "seed", '\0', POPT_ARG_STRING, &seed_s, 0,
		  "without FILE: the pattern seed of the synthetic images (default 1)",
		  "N" },
		BACKENDOPTS_TABLE(ba),
		{ "wait", 'w', POPT_ARG_STRING, &wait_s, 0,
		  "wait up to SECONDS for the consumer to appear (default 5, 0 = try once)",
		  "SECONDS" },
		CLI_COMMON_TABLE,
		CLI_HELP_TABLE,
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext(argv[0], argc, argv, options, 0);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct json_object *doc = NULL;
	const char **files;
	int rc, r;

	rc = cli_parse_with_args(pc, "[OPTIONS] [FILE...]");
	if (rc >= 0)
		goto out;
	if (imageopts_help(&ia, false)) {
		rc = FDX_EXIT_OK;
		goto out;
	}
	rc = FDX_EXIT_USAGE;
	files = poptGetArgs(pc);
	if ((wait_s && cli_parse_seconds("--wait", wait_s, &o.wait) < 0) ||
	    (count_s &&
	     cli_parse_u64("--count", count_s, 1, MAX_IMAGES, false, &o.count) < 0) ||
	    (seed_s && cli_parse_u64("--seed", seed_s, 0, UINT64_MAX, false, &o.seed) < 0))
		goto out;
	if (files && (count_s || seed_s)) {
		cli_err("%s is for synthetic images; the pictures in FILE are sent as they are",
			count_s ? "--count" : "--seed");
		goto out;
	}
	if (!files && o.force_raw) {
		cli_err("--raw says how to read FILE; no FILE was given");
		goto out;
	}
	if (imageopts_parse(&o.img, &ia, "nv12") < 0 ||
	    backendopts_parse(&o.backend, &ba) < 0)
		goto out;
	o.size_given = ia.width || ia.height;
	if (ia.width && !ia.height) {
		cli_err("--width needs --height");
		goto out;
	} else if (ia.height && !ia.width) {
		cli_err("--height needs --width");
		goto out;
	}
	rc = files ? load_files(&o, files) : add_synthetic(&o);
	if (rc >= 0)
		goto out;
	/* a backend this machine lacks fails here, before the consumer is bothered */
	rc = backendopts_probe(&o.backend, &ba);
	if (rc >= 0)
		goto out;
	rc = FDX_EXIT_USAGE;
	r = cli_socket_path(path, sizeof(path), false);
	if (r < 0) {
		rc = r == -ENAMETOOLONG || r == -EINVAL ? FDX_EXIT_USAGE : FDX_EXIT_SYSTEM;
		goto out;
	}
	if (cli.json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "socket", json_object_new_string(path));
		json_object_object_add(doc, "backend", backendopts_json(&o.backend));
		json_object_object_add(doc, "error", NULL);
	}
	rc = send_all(path, &o, doc);
	if (doc)
		cli_print_json(doc, rc);
out:
	free((char *)wait_s);
	free((char *)count_s);
	free((char *)seed_s);
	imageopts_free(&ia);
	backendopts_free(&ba);
	for (unsigned i = 0; i < o.nfiles; i++)
		free(o.files[i]);
	free(o.files);
	free(o.pics);
	poptFreeContext(pc);
	return rc;
}

const struct fdx_cmd fdx_cmd_send_image = {
	.name = "send-image",
	.run = send_image_main,
	.summary = "producer: send pictures (PNM, raw) or synthetic images to a consumer",
};
