/* test-object.c - objects and their buffers: create, import, verify, checksum and
 * diagnose, raw and image, one fd or one per plane, with real memfds */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "image.h"
#include "object.h"
#include "test-common.h"

#define SEED 0x5eedu

static const struct fdx_provenance prov = {
	.pid = 1234, .session = 7, .index = 0, .plane = -1, .has_seed = true, .seed = SEED
};

/* A sealed object made the way a producer makes it: layout, create, fill, seal. */
static void make(struct fdx_held *h, const struct fdx_object *layout, uint64_t frame)
{
	struct fdx_object o = *layout;
	struct fdx_pattern p;

	o.backend = FDX_BACKEND_MEMFD;
	o.content = FDX_CONTENT_PATTERN;
	o.seed = SEED;
	o.frame = frame;
	ck_assert_int_eq(fdx_held_create(h, &o, &prov, 0), 0);
	fdx_pattern_init(&p, SEED, frame);
	fdx_held_fill(h, &p, 0, o.size);
	ck_assert_int_eq(fdx_held_seal(h), 0);
}

static void image(struct fdx_object *o, unsigned format, uint32_t w, uint32_t h,
		  uint32_t align, bool fd_per_plane)
{
	ck_assert_int_eq(fdx_image_layout(format, w, h, align, fd_per_plane, o), 0);
	o->backend = FDX_BACKEND_MEMFD; /* what the fds of these tests are */
}

/* What a consumer gets: duplicates of the producer's fds, imported. */
static int import_dup(struct fdx_held *dst, const struct fdx_held *src, char *err,
		      size_t cap)
{
	int fds[FDX_MAX_PLANES];
	unsigned n = fdx_held_fds(src, fds);

	for (unsigned i = 0; i < n; i++)
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
	return fdx_held_import(dst, &src->obj, fds, n, 0, err, cap);
}

static unsigned verify(const struct fdx_held *h, struct fdx_object_result *r)
{
	return fdx_held_verify(h, r);
}

/* ---- raw objects ---- */

START_TEST(raw_fields)
{
	struct fdx_object o;
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.nfds = 1 };
	uint8_t buf[FDX_MSG_MAX];
	int n;

	memset(&o, 0xff, sizeof(o));
	fdx_object_raw(&o, 123457, FDX_BACKEND_MEMFD, 42, 9);
	ck_assert_uint_eq(o.kind, FDX_KIND_RAW);
	ck_assert_uint_eq(o.backend, FDX_BACKEND_MEMFD);
	ck_assert_uint_eq(o.format, 0);
	ck_assert_uint_eq(o.nplanes, 1);
	ck_assert_uint_eq(o.content, FDX_CONTENT_PATTERN);
	ck_assert_uint_eq(o.size, 123457);
	ck_assert_uint_eq(o.seed, 42);
	ck_assert_uint_eq(o.frame, 9);
	ck_assert_uint_eq(o.planes[0].fd_index, 0);
	ck_assert_uint_eq(o.planes[0].offset, 0);
	ck_assert_uint_eq(o.planes[0].size, 123457);
	/* what the producer describes, the codec accepts */
	m.u.object = o;
	n = fdx_msg_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdx_msg_decode(buf, (size_t)n, 1, &m), 0);
}
END_TEST

START_TEST(raw_import_and_verify)
{
	struct fdx_held p, c;
	struct fdx_object o;
	struct fdx_object_result r;
	char err[256] = "";

	fdx_object_raw(&o, 10007, FDX_BACKEND_MEMFD, SEED, 5);
	make(&p, &o, 5);
	ck_assert_int_eq(import_dup(&c, &p, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.nbufs, 1);
	ck_assert_uint_eq(c.bufs[0].length, 10007);
	ck_assert(!c.bufs[0].writable);
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_OK);
	ck_assert_uint_eq(r.total.first_mismatch, FDX_NO_OFFSET);
	ck_assert_uint_eq(r.total.mismatched_bytes, 0);

	/* the producer's writes show through the consumer's mapping: same pages */
	p.bufs[0].map[777] ^= 0x80;
	p.bufs[0].map[10006] ^= 0x01;
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_MISMATCH);
	ck_assert_uint_eq(r.total.first_mismatch, 777);
	ck_assert_uint_eq(r.total.mismatched_bytes, 2);
	ck_assert_uint_eq(r.planes[0].pixel_bytes, 2); /* raw bytes count as pixels */
	ck_assert_uint_eq(r.planes[0].padding_bytes, 0);
	p.bufs[0].map[777] ^= 0x80;
	p.bufs[0].map[10006] ^= 0x01;
	/* the wrong frame is wrong almost everywhere */
	c.obj.frame = 6;
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_MISMATCH);
	ck_assert_uint_gt(r.total.mismatched_bytes, 9000);
	/* nothing to check against */
	c.obj.content = FDX_CONTENT_NONE;
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_UNCHECKED);
	ck_assert_uint_eq(r.total.first_mismatch, FDX_NO_OFFSET);
	fdx_held_release(&c);
	fdx_held_release(&p);
}
END_TEST

/* An import that must fail with want, close every fd, and explain itself. */
static void expect_refused(const struct fdx_object *o, int *fds, unsigned n, int want,
			   const char *needle)
{
	int copy[FDX_MAX_PLANES];
	struct fdx_held h;
	char err[256] = "";
	int r;

	memcpy(copy, fds, n * sizeof(int));
	r = fdx_held_import(&h, o, fds, n, 0, err, sizeof(err));
	ck_assert_msg(r == want, "import returned %d (%s), expected %d; '%s'", r,
		      strerror(-r), want, err);
	ck_assert_msg(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(fds[i], -1);
		ck_assert_msg(!tc_fd_is_open(copy[i]), "fd %d left open after a refusal",
			      copy[i]);
	}
	ck_assert_int_eq(h.bufs[0].fd, -1);
	ck_assert_ptr_null(h.bufs[0].map);
}

static int dup_of(const struct fdx_held *h, unsigned i)
{
	return fcntl(h->bufs[i].fd, F_DUPFD_CLOEXEC, 0);
}

START_TEST(raw_refusals)
{
	struct fdx_held p;
	struct fdx_object o;
	int fds[1], pp[2];

	fdx_object_raw(&o, 4096, FDX_BACKEND_MEMFD, SEED, 0);
	make(&p, &o, 0);
	/* the description claims more than the fd holds */
	o.index = 3;
	o.size = o.planes[0].size = 8192;
	fds[0] = dup_of(&p, 0);
	expect_refused(&o, fds, 1, -ERANGE, "buffer 3: size 4096 < 8192 claimed");
	o.size = o.planes[0].size = 4000;
	o.planes[0].offset = 100;
	fds[0] = dup_of(&p, 0);
	expect_refused(&o, fds, 1, -ERANGE, "claimed at offset 100");
	fdx_held_release(&p);

	fdx_object_raw(&o, 4096, FDX_BACKEND_MEMFD, SEED, 0);
	ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	fds[0] = pp[0];
	expect_refused(&o, fds, 1, -ENODEV, "fd is a pipe, not a buffer");
	close(pp[1]);
	fds[0] = tc_memfd("fdx-unsealed", 4096);
	expect_refused(&o, fds, 1, -EPERM, "not sealed against shrinking (seals: none)");
	fds[0] = open("/", O_PATH | O_CLOEXEC);
	expect_refused(&o, fds, 1, -EBADF, "O_PATH");
	fds[0] = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	expect_refused(&o, fds, 1, -ENODEV, "directory");
	fds[0] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	expect_refused(&o, fds, 1, -ENODEV, "character device");
}
END_TEST

/* An unsealed file is fine when the caller says it reads it knowing it may shrink. */
START_TEST(unsealed_on_request)
{
	struct fdx_object o;
	struct fdx_held h;
	char err[256];
	int fd = tc_memfd("fdx-unsealed", 4096);

	fdx_object_raw(&o, 4096, FDX_BACKEND_MEMFD, SEED, 0);
	ck_assert_int_eq(
		fdx_held_import(&h, &o, &fd, 1, FDX_BUF_UNSEALED, err, sizeof(err)), 0);
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(h.bufs[0].seals, 0);
	fdx_held_release(&h);
}
END_TEST

/* ---- images ---- */

/* Every format, odd and even sizes where the format allows them, tight and padded, in
 * one fd and one per plane: what the producer writes the consumer verifies. */
START_TEST(every_format_round_trip)
{
	static const uint32_t dims[][2] = {
		{ 2, 2 }, { 4, 6 }, { 7, 3 }, { 640, 480 }, { 322, 242 }
	};
	static const uint32_t aligns[] = { 1, 16, 64, 4096 };

	for (unsigned f = 1; f <= FDX_FORMAT_MAX; f++) {
		const struct fdx_format_desc *d = fdx_format_desc(f);

		for (size_t k = 0; k < sizeof(dims) / sizeof(dims[0]); k++) {
			uint32_t w = dims[k][0], ht = dims[k][1];

			if ((d->even_width && w % 2) || (d->even_height && ht % 2))
				continue;
			for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
				for (int per = 0; per < 2; per++) {
					struct fdx_object o;
					struct fdx_object_result r;
					struct fdx_held p, c;
					char err[256] = "";

					image(&o, f, w, ht, aligns[a], per);
					make(&p, &o, 3);
					ck_assert_uint_eq(p.nbufs, per ? d->nplanes : 1);
					ck_assert_msg(
						import_dup(&c, &p, err, sizeof(err)) == 0,
						"%s %ux%u align %u per-plane %d: %s",
						d->name, w, ht, aligns[a], per, err);
					ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_OK);
					fdx_held_release(&c);
					fdx_held_release(&p);
				}
			}
		}
	}
}
END_TEST

/* Positions run plane after plane; in fdx's one-fd layouts they are fd offsets too. */
START_TEST(positions_and_planes)
{
	struct fdx_object o;
	struct fdx_held h;

	image(&o, FDX_FORMAT_I420, 64, 32, 64, false);
	make(&h, &o, 0);
	ck_assert_uint_eq(o.planes[0].size, 64 * 32);
	ck_assert_uint_eq(o.planes[1].size, 64 * 16); /* 32-byte rows padded to 64 */
	for (unsigned i = 0; i < 3; i++)
		ck_assert_ptr_eq(fdx_held_plane(&h, i), h.bufs[0].map + o.planes[i].offset);
	ck_assert_ptr_eq(fdx_held_at(&h, 0), h.bufs[0].map);
	ck_assert_ptr_eq(fdx_held_at(&h, 2048), fdx_held_plane(&h, 1));
	ck_assert_ptr_eq(fdx_held_at(&h, 2048 + 1024 + 5), fdx_held_plane(&h, 2) + 5);
	ck_assert_ptr_eq(fdx_held_at(&h, o.size - 1), h.bufs[0].map + o.size - 1);
	ck_assert_ptr_null(fdx_held_at(&h, o.size));
	ck_assert_ptr_null(fdx_held_plane(&h, 3));
	fdx_held_release(&h);

	/* one fd per plane: each plane at offset 0 of its own buffer */
	image(&o, FDX_FORMAT_I420, 64, 32, 64, true);
	make(&h, &o, 0);
	ck_assert_uint_eq(h.nbufs, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_ptr_eq(fdx_held_plane(&h, i), h.bufs[i].map);
	ck_assert_ptr_eq(fdx_held_at(&h, 2048 + 1), h.bufs[1].map + 1);
	fdx_held_release(&h);
}
END_TEST

/* The buffers carry the provenance name, with the plane when there are several fds. */
START_TEST(buffer_names)
{
	struct fdx_object o;
	struct fdx_held h;
	char link[64], target[256];
	ssize_t n;

	image(&o, FDX_FORMAT_NV12, 16, 16, 1, true);
	make(&h, &o, 0);
	for (unsigned i = 0; i < 2; i++) {
		char want[128];

		snprintf(link, sizeof(link), "/proc/self/fd/%d", h.bufs[i].fd);
		n = readlink(link, target, sizeof(target) - 1);
		ck_assert_int_gt(n, 0);
		target[n] = '\0';
		snprintf(want, sizeof(want), "/memfd:fdx:1234:7:0.%u:s5eed (deleted)", i);
		ck_assert_str_eq(target, want);
	}
	fdx_held_release(&h);
	image(&o, FDX_FORMAT_NV12, 16, 16, 1, false);
	make(&h, &o, 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", h.bufs[0].fd);
	n = readlink(link, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, "/memfd:fdx:1234:7:0:s5eed (deleted)");
	fdx_held_release(&h);
}
END_TEST

/* A damaged byte is counted as pixel or padding, in the plane it belongs to. */
START_TEST(pixels_and_padding)
{
	struct fdx_object o;
	struct fdx_object_result r;
	struct fdx_held p, c;
	char err[256];
	uint8_t *uv;

	/* nv12 100x10, rows padded to 128: Y rows 100 + 28, UV rows 100 + 28 */
	image(&o, FDX_FORMAT_NV12, 100, 10, 128, false);
	make(&p, &o, 2);
	ck_assert_int_eq(import_dup(&c, &p, err, sizeof(err)), 0);
	uv = fdx_held_plane(&p, 1);
	uv[128 * 2 + 99] ^= 1;	/* pixel: row 2, last pixel byte */
	uv[128 * 2 + 100] ^= 1; /* padding: row 2, first padding byte */
	uv[128 * 4 + 127] ^= 1; /* padding: row 4, last byte */
	fdx_held_plane(&p, 0)[5] ^= 1;
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_MISMATCH);
	ck_assert_uint_eq(r.total.mismatched_bytes, 4);
	ck_assert_uint_eq(r.total.first_mismatch, 5);
	ck_assert_uint_eq(r.planes[0].first_mismatch, 5);
	ck_assert_uint_eq(r.planes[0].pixel_bytes, 1);
	ck_assert_uint_eq(r.planes[0].padding_bytes, 0);
	ck_assert_uint_eq(r.planes[1].first_mismatch, o.planes[0].size + 128 * 2 + 99);
	ck_assert_uint_eq(r.planes[1].pixel_bytes, 1);
	ck_assert_uint_eq(r.planes[1].padding_bytes, 2);
	fdx_held_release(&c);
	fdx_held_release(&p);
}
END_TEST

/* The consumer checks the layout against the real fd sizes and names the rule broken. */
START_TEST(layout_refusals)
{
	struct fdx_object o, bad;
	struct fdx_held p;
	int fds[FDX_MAX_PLANES];

	image(&o, FDX_FORMAT_NV12, 64, 16, 1, false);
	make(&p, &o, 0);

	bad = o;
	bad.index = 2;
	bad.planes[1].stride = 32;
	fds[0] = dup_of(&p, 0);
	expect_refused(&bad, fds, 1, -EPROTO,
		       "buffer 2: plane 1: stride 32 < 64 row bytes");

	bad = o;
	bad.width = 66; /* the planes no longer match the size */
	fds[0] = dup_of(&p, 0);
	expect_refused(&bad, fds, 1, -EPROTO, "plane 0: width 64");

	bad = o;
	bad.planes[1].offset = 512; /* into the Y plane */
	fds[0] = dup_of(&p, 0);
	expect_refused(&bad, fds, 1, -EPROTO, "planes 0 and 1 overlap");

	bad = o;
	bad.planes[1].offset = o.planes[1].offset + 64; /* ends past the fd */
	fds[0] = dup_of(&p, 0);
	expect_refused(&bad, fds, 1, -ERANGE, "> fd size 1536");

	bad = o;
	bad.format = 99;
	fds[0] = dup_of(&p, 0);
	expect_refused(&bad, fds, 1, -EPROTO, "format 99 unknown");

	bad = o;
	bad.planes[0].size = 0;
	fds[0] = dup_of(&p, 0);
	expect_refused(&bad, fds, 1, -EPROTO, "plane 0: size 0");

	/* an fd for planes in one fd is one too many */
	fds[0] = dup_of(&p, 0);
	fds[1] = dup_of(&p, 0);
	expect_refused(&o, fds, 2, -EBADFD, "2 fds for planes in 1");
	fdx_held_release(&p);
}
END_TEST

/* With an fd per plane, each fd is checked on its own, and named. */
START_TEST(per_plane_refusals)
{
	struct fdx_object o;
	struct fdx_held p;
	int fds[FDX_MAX_PLANES], pp[2];

	image(&o, FDX_FORMAT_I420, 32, 8, 1, true);
	make(&p, &o, 0);
	o.index = 5;
	fds[0] = dup_of(&p, 0);
	fds[1] = dup_of(&p, 1);
	ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	fds[2] = pp[0];
	expect_refused(&o, fds, 3, -ENODEV, "buffer 5: fd 2 is a pipe, not a buffer");
	close(pp[1]);

	fds[0] = dup_of(&p, 0);
	fds[1] = tc_memfd("fdx-unsealed", 64);
	fds[2] = dup_of(&p, 2);
	expect_refused(&o, fds, 3, -EPERM, "fd 1 not sealed");

	/* plane 2's fd is plane 1's, which is too small for it? same size: swap with Y */
	fds[0] = dup_of(&p, 1);
	fds[1] = dup_of(&p, 1);
	fds[2] = dup_of(&p, 2);
	expect_refused(&o, fds, 3, -ERANGE,
		       "plane 0: offset 0 + 8 rows x 32 stride = 256 > fd size 64");
	fdx_held_release(&p);
}
END_TEST

/* ---- checksums ---- */

START_TEST(checksum_covers_pixels_only)
{
	struct fdx_object o;
	struct fdx_object_result r;
	struct fdx_held p, c;
	uint64_t sum, again;
	char err[256];

	image(&o, FDX_FORMAT_RGB24, 10, 4, 64, false);
	o.content = FDX_CONTENT_CHECKSUM;
	o.backend = FDX_BACKEND_MEMFD;
	ck_assert_int_eq(fdx_held_create(&p, &o, &prov, 0), 0);
	for (uint64_t i = 0; i < o.size; i++)
		*fdx_held_at(&p, i) = (uint8_t)(i * 7);
	ck_assert_int_eq(fdx_held_checksum(&p, &sum), 0);
	p.obj.checksum = sum;
	ck_assert_int_eq(fdx_held_seal(&p), 0);
	ck_assert_int_eq(import_dup(&c, &p, err, sizeof(err)), 0);
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_OK);
	ck_assert_uint_eq(r.checksum, sum);

	/* padding (bytes 30..63 of each row) is not in the checksum */
	fdx_held_plane(&p, 0)[64 + 40] ^= 0xff;
	ck_assert_int_eq(fdx_held_checksum(&p, &again), 0);
	ck_assert_uint_eq(again, sum);
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_OK);
	/* a pixel is; a checksum mismatch has no offset */
	fdx_held_plane(&p, 0)[64 + 29] ^= 0xff;
	ck_assert_uint_eq(verify(&c, &r), FDX_VERDICT_MISMATCH);
	ck_assert_uint_ne(r.checksum, sum);
	ck_assert_uint_eq(r.total.first_mismatch, FDX_NO_OFFSET);
	ck_assert_uint_eq(r.total.mismatched_bytes, 0);
	fdx_held_release(&c);
	fdx_held_release(&p);
}
END_TEST

/* The checksum is XXH3-64 of the pixel rows one after the other: a peer that writes the
 * same rows tightly packed computes the same number. */
START_TEST(checksum_is_of_packed_rows)
{
	struct fdx_object padded, tight;
	struct fdx_held a, b;
	uint64_t sa, sb;

	image(&padded, FDX_FORMAT_NV12, 6, 4, 16, true);
	image(&tight, FDX_FORMAT_NV12, 6, 4, 1, false);
	padded.backend = tight.backend = FDX_BACKEND_MEMFD;
	ck_assert_int_eq(fdx_held_create(&a, &padded, &prov, 0), 0);
	ck_assert_int_eq(fdx_held_create(&b, &tight, &prov, 0), 0);
	for (unsigned i = 0; i < 2; i++) {
		uint64_t row = fdx_image_row_bytes(&padded, i);

		for (uint32_t y = 0; y < padded.planes[i].height; y++)
			for (uint64_t x = 0; x < row; x++) {
				uint8_t v = (uint8_t)(31 * y + x + 100 * i);

				fdx_held_plane(&a, i)[y * padded.planes[i].stride + x] = v;
				fdx_held_plane(&b, i)[y * tight.planes[i].stride + x] = v;
			}
		memset(fdx_held_plane(&a, i) + row, 0xee, 1); /* padding: ignored */
	}
	ck_assert_int_eq(fdx_held_checksum(&a, &sa), 0);
	ck_assert_int_eq(fdx_held_checksum(&b, &sb), 0);
	ck_assert_uint_eq(sa, sb);
	fdx_held_release(&a);
	fdx_held_release(&b);
}
END_TEST

/* ---- diagnosis across planes ---- */

static void fill_from(struct fdx_held *h, uint64_t frame, uint64_t from, uint64_t to)
{
	struct fdx_pattern p;

	fdx_pattern_init(&p, SEED, frame);
	fdx_held_fill(h, &p, from, to);
}

static unsigned diagnose(struct fdx_held *h, struct fdx_diagnosis *d)
{
	return fdx_held_diagnose(h, FDX_DIAG_WINDOW, d);
}

START_TEST(diagnose_across_planes)
{
	struct fdx_object o;
	struct fdx_diagnosis d;
	struct fdx_held h;
	uint64_t y;

	for (int per = 0; per < 2; per++) {
		image(&o, FDX_FORMAT_NV12, 320, 240, 64, per);
		y = o.planes[0].size;
		make(&h, &o, 10);
		ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_NONE);

		/* stale: every plane holds frame 9 */
		fill_from(&h, 9, 0, o.size);
		ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_STALE);
		ck_assert_uint_eq(d.found, 9);
		ck_assert_uint_eq(d.expected, 10);
		ck_assert_uint_eq(d.verify.first_mismatch, 0);

		/* torn inside the Y plane: frame 10 up to 1000, frame 11 after */
		fill_from(&h, 10, 0, 1000);
		fill_from(&h, 11, 1000, o.size);
		ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_TORN);
		ck_assert_uint_eq(d.tear, 1000);
		ck_assert_uint_eq(d.head_frame, 10);
		ck_assert_uint_eq(d.tail_frame, 11);

		/* torn at the plane boundary: Y is frame 10, UV frame 12 */
		fill_from(&h, 10, 0, y);
		fill_from(&h, 12, y, o.size);
		ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_TORN);
		ck_assert_uint_eq(d.tear, y);
		ck_assert_uint_eq(d.tail_frame, 12);

		/* the other way: frame 8 up to a point in the UV plane, then frame 10 */
		fill_from(&h, 8, 0, y + 777);
		fill_from(&h, 10, y + 777, o.size);
		ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_TORN);
		ck_assert_uint_eq(d.tear, y + 777);
		ck_assert_uint_eq(d.head_frame, 8);
		ck_assert_uint_eq(d.tail_frame, 10);

		/* bytes of no frame */
		fill_from(&h, 10, 0, o.size);
		memset(fdx_held_at(&h, y + 5), 0xa5, 64);
		ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_CORRUPT);
		ck_assert_uint_eq(d.verify.first_mismatch, y + 5);

		/* two different frames in two planes explain nothing together */
		fill_from(&h, 8, 0, y);
		fill_from(&h, 9, y, o.size);
		ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_CORRUPT);
		fdx_held_release(&h);
	}
}
END_TEST

/* Checksum objects have no frames to look for. */
START_TEST(diagnose_needs_a_pattern)
{
	struct fdx_object o;
	struct fdx_diagnosis d;
	struct fdx_held h;

	image(&o, FDX_FORMAT_U8, 8, 8, 1, false);
	make(&h, &o, 0);
	h.obj.content = FDX_CONTENT_CHECKSUM;
	ck_assert_uint_eq(diagnose(&h, &d), FDX_DIAG_NONE);
	fdx_held_release(&h);
}
END_TEST

/* ---- copy objects ---- */

START_TEST(copy_object_gets_private_memory)
{
	struct fdx_object o;
	struct fdx_held h;
	char err[256];
	int fds[FDX_MAX_PLANES];

	image(&o, FDX_FORMAT_NV12, 64, 32, 1, false);
	o.backend = FDX_BACKEND_COPY;
	ck_assert_int_eq(fdx_held_import(&h, &o, fds, 0, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(h.nbufs, 1);
	ck_assert_int_eq(h.bufs[0].fd, -1);
	ck_assert_uint_eq(h.bufs[0].length, o.size);
	ck_assert(h.bufs[0].writable);
	ck_assert_uint_eq(fdx_held_fds(&h, fds), 0);
	fdx_held_release(&h);

	/* no fd, but the same layout rules: a short stride would lead readers astray */
	o.planes[1].stride = 16;
	o.index = 4;
	ck_assert_int_eq(fdx_held_import(&h, &o, fds, 0, 0, err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "buffer 4: plane 1: stride 16 < 64 row bytes");
	ck_assert_ptr_null(h.bufs[0].map);
}
END_TEST

static Suite *object_suite(void)
{
	Suite *s = suite_create("object");
	TCase *tc = tc_case("raw");

	tcase_add_test(tc, raw_fields);
	tcase_add_test(tc, raw_import_and_verify);
	tcase_add_test(tc, raw_refusals);
	tcase_add_test(tc, unsealed_on_request);
	tcase_add_test(tc, copy_object_gets_private_memory);
	suite_add_tcase(s, tc);

	tc = tc_case("image");
	tcase_add_test(tc, every_format_round_trip);
	tcase_add_test(tc, positions_and_planes);
	tcase_add_test(tc, buffer_names);
	tcase_add_test(tc, pixels_and_padding);
	tcase_add_test(tc, layout_refusals);
	tcase_add_test(tc, per_plane_refusals);
	suite_add_tcase(s, tc);

	tc = tc_case("checksum");
	tcase_add_test(tc, checksum_covers_pixels_only);
	tcase_add_test(tc, checksum_is_of_packed_rows);
	suite_add_tcase(s, tc);

	tc = tc_case("diagnosis");
	tcase_add_test(tc, diagnose_across_planes);
	tcase_add_test(tc, diagnose_needs_a_pattern);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(object_suite());
}
