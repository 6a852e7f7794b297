/* test-image.c - unit tests of pixel formats, plane layout and its checks, colour, PNM */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "image.h"
#include "test-common.h"

#define WHY_CAP 256

/* Sizes the fds of o need, as a consumer would have learnt them from fstat. */
static unsigned need_sizes(const struct fdx_object *o, uint64_t sizes[FDX_MAX_PLANES])
{
	unsigned nfds;

	ck_assert_int_eq(fdx_image_fd_sizes(o, sizes, &nfds), 0);
	return nfds;
}

/* Assert that check refuses o with err and that the reason contains rule. */
static void refused(const struct fdx_object *o, const uint64_t *sizes, unsigned nfds,
		    int err, const char *rule)
{
	char why[WHY_CAP] = "";
	int r = fdx_image_check(o, sizes, nfds, why, sizeof(why));

	ck_assert_msg(r == err, "check gave %d (%s), expected %d for '%s'", r, why, err,
		      rule);
	ck_assert_msg(strstr(why, rule), "why '%s' lacks '%s'", why, rule);
}

/* Lay out, ck_asserting success. */
static void layout(struct fdx_object *o, unsigned format, uint32_t w, uint32_t h,
		   uint32_t align, bool per_plane)
{
	int r = fdx_image_layout(format, w, h, align, per_plane, o);

	ck_assert_msg(r == 0, "layout %s %ux%u align %u: %d", fdx_format_name(format), w, h,
		      align, r);
}

/* ---- formats ---- */

START_TEST(format_codes_are_the_wire_values)
{
	/* these numbers are in fdx-protocol(7): a change breaks every other peer */
	ck_assert_int_eq(FDX_FORMAT_RAW, 0);
	ck_assert_int_eq(FDX_FORMAT_U8, 1);
	ck_assert_int_eq(FDX_FORMAT_U16, 2);
	ck_assert_int_eq(FDX_FORMAT_RGB24, 3);
	ck_assert_int_eq(FDX_FORMAT_RGBX, 4);
	ck_assert_int_eq(FDX_FORMAT_NV12, 5);
	ck_assert_int_eq(FDX_FORMAT_NV21, 6);
	ck_assert_int_eq(FDX_FORMAT_YUYV, 7);
	ck_assert_int_eq(FDX_FORMAT_UYVY, 8);
	ck_assert_int_eq(FDX_FORMAT_I420, 9);
}
END_TEST

START_TEST(format_names)
{
	static const struct {
		const char *name;
		int code;
	} names[] = {
		{ "u8", FDX_FORMAT_U8 },
		{ "gray8", FDX_FORMAT_U8 },
		{ "GRAY8", FDX_FORMAT_U8 },
		{ "u16", FDX_FORMAT_U16 },
		{ "Gray16", FDX_FORMAT_U16 },
		{ "rgb24", FDX_FORMAT_RGB24 },
		{ "RGBX", FDX_FORMAT_RGBX },
		{ "nv12", FDX_FORMAT_NV12 },
		{ "NV21", FDX_FORMAT_NV21 },
		{ "yuyv", FDX_FORMAT_YUYV },
		{ "UyVy", FDX_FORMAT_UYVY },
		{ "i420", FDX_FORMAT_I420 },
		{ "", -EINVAL },
		{ "raw", -EINVAL },
		{ "nv1", -EINVAL },
		{ "nv122", -EINVAL },
		{ "rgb", -EINVAL },
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(fdx_format_from_name(names[i].name) == names[i].code,
			      "'%s' gave %d", names[i].name,
			      fdx_format_from_name(names[i].name));
	ck_assert_str_eq(fdx_format_name(FDX_FORMAT_RAW), "raw");
	ck_assert_str_eq(fdx_format_name(FDX_FORMAT_NV12), "nv12");
	ck_assert_str_eq(fdx_format_name(FDX_FORMAT_U8), "u8");
	ck_assert_str_eq(fdx_format_name(77), "unknown");
	ck_assert_ptr_null(fdx_format_desc(0));
	ck_assert_ptr_null(fdx_format_desc(FDX_FORMAT_MAX + 1));
}
END_TEST

START_TEST(format_iteration)
{
	unsigned n = fdx_format_count();

	ck_assert_uint_eq(n, 9);
	for (unsigned i = 0; i < n; i++) {
		const struct fdx_format_desc *d = fdx_format_at(i);
		char upper[16];

		ck_assert_ptr_nonnull(d);
		ck_assert_ptr_eq(fdx_format_desc(d->code), d);
		ck_assert_int_eq(fdx_format_from_name(d->name), (int)d->code);
		ck_assert_str_eq(fdx_format_name(d->code), d->name);
		ck_assert_ptr_nonnull(d->summary);
		ck_assert_uint_ge(d->nplanes, 1);
		ck_assert_uint_le(d->nplanes, FDX_MAX_PLANES);
		for (unsigned k = 0; d->name[k]; k++) {
			ck_assert(d->name[k] < 'A' || d->name[k] > 'Z');
			upper[k] = d->name[k] >= 'a' && d->name[k] <= 'z' ? d->name[k] - 32
									  : d->name[k];
			upper[k + 1] = '\0';
		}
		ck_assert_int_eq(fdx_format_from_name(upper), (int)d->code);
		if (d->alias)
			ck_assert_int_eq(fdx_format_from_name(d->alias), (int)d->code);
	}
	ck_assert_ptr_null(fdx_format_at(n));
}
END_TEST

START_TEST(format_table)
{
	const struct fdx_format_desc *nv12 = fdx_format_desc(FDX_FORMAT_NV12);
	const struct fdx_format_desc *i420 = fdx_format_desc(FDX_FORMAT_I420);
	const struct fdx_format_desc *yuyv = fdx_format_desc(FDX_FORMAT_YUYV);
	const struct fdx_format_desc *rgbx = fdx_format_desc(FDX_FORMAT_RGBX);

	ck_assert_uint_eq(nv12->nplanes, 2);
	ck_assert_uint_eq(nv12->bpp[1], 2);
	ck_assert_uint_eq(nv12->hsub[1], 2);
	ck_assert_uint_eq(nv12->vsub[1], 2);
	ck_assert(nv12->even_width && nv12->even_height);
	ck_assert(fdx_format_desc(FDX_FORMAT_NV21)->even_height);
	ck_assert_uint_eq(i420->nplanes, 3);
	ck_assert_uint_eq(i420->bpp[2], 1);
	ck_assert(i420->even_width && i420->even_height);
	ck_assert_uint_eq(yuyv->nplanes, 1);
	ck_assert_uint_eq(yuyv->bpp[0], 2);
	ck_assert(yuyv->even_width && !yuyv->even_height);
	ck_assert(fdx_format_desc(FDX_FORMAT_UYVY)->even_width);
	ck_assert_uint_eq(rgbx->bpp[0], 4);
	ck_assert(!rgbx->even_width && !rgbx->even_height);
	ck_assert_uint_eq(fdx_format_desc(FDX_FORMAT_U16)->bpp[0], 2);
}
END_TEST

/* ---- layout ---- */

START_TEST(layout_nv12_1080p_tight)
{
	struct fdx_object o;
	uint64_t sizes[FDX_MAX_PLANES];

	layout(&o, FDX_FORMAT_NV12, 1920, 1080, 0, false);
	ck_assert_uint_eq(o.kind, FDX_KIND_IMAGE);
	ck_assert_uint_eq(o.format, FDX_FORMAT_NV12);
	ck_assert_uint_eq(o.width, 1920);
	ck_assert_uint_eq(o.height, 1080);
	ck_assert_uint_eq(o.nplanes, 2);
	ck_assert_uint_eq(o.planes[0].fd_index, 0);
	ck_assert_uint_eq(o.planes[0].offset, 0);
	ck_assert_uint_eq(o.planes[0].stride, 1920);
	ck_assert_uint_eq(o.planes[0].width, 1920);
	ck_assert_uint_eq(o.planes[0].height, 1080);
	ck_assert_uint_eq(o.planes[0].size, 2073600);
	ck_assert_uint_eq(o.planes[1].fd_index, 0);
	ck_assert_uint_eq(o.planes[1].offset, 2073600);
	ck_assert_uint_eq(o.planes[1].stride, 1920);
	ck_assert_uint_eq(o.planes[1].width, 960);
	ck_assert_uint_eq(o.planes[1].height, 540);
	ck_assert_uint_eq(o.planes[1].size, 1036800);
	ck_assert_uint_eq(o.size, 3110400);
	ck_assert_uint_eq(need_sizes(&o, sizes), 1);
	ck_assert_uint_eq(sizes[0], 3110400);
	ck_assert_int_eq(fdx_image_check(&o, sizes, 1, NULL, 0), 0);
}
END_TEST

START_TEST(layout_rgb24_1921_align64)
{
	struct fdx_object o;

	layout(&o, FDX_FORMAT_RGB24, 1921, 3, 64, false);
	ck_assert_uint_eq(o.nplanes, 1);
	ck_assert_uint_eq(o.planes[0].width, 1921);
	ck_assert_uint_eq(o.planes[0].height, 3);
	/* 1921 x 3 = 5763 row bytes, rounded up to 91 x 64 */
	ck_assert_uint_eq(o.planes[0].stride, 5824);
	ck_assert_uint_eq(o.planes[0].size, 3 * 5824);
	ck_assert_uint_eq(o.size, 17472);
	ck_assert_uint_eq(fdx_image_row_bytes(&o, 0), 5763);

	layout(&o, FDX_FORMAT_RGB24, 1921, 3, 0, false);
	ck_assert_uint_eq(o.planes[0].stride, 5763);
	ck_assert_uint_eq(o.size, 17289);
}
END_TEST

/* Hand-computed layouts; planes share fd 0 unless per_plane. */
static const struct layout_case {
	unsigned format;
	uint32_t w, h, align;
	bool per_plane;
	struct {
		uint32_t width, height, stride;
		uint64_t offset, size;
	} p[3];
	uint64_t total;
} layout_cases[] = {
	/* 6x4, tight */
	{ FDX_FORMAT_U8, 6, 4, 0, false, { { 6, 4, 6, 0, 24 } }, 24 },
	{ FDX_FORMAT_U16, 6, 4, 0, false, { { 6, 4, 12, 0, 48 } }, 48 },
	{ FDX_FORMAT_RGB24, 6, 4, 0, false, { { 6, 4, 18, 0, 72 } }, 72 },
	{ FDX_FORMAT_RGBX, 6, 4, 1, false, { { 6, 4, 24, 0, 96 } }, 96 },
	{ FDX_FORMAT_NV12,
	  6,
	  4,
	  0,
	  false,
	  { { 6, 4, 6, 0, 24 }, { 3, 2, 6, 24, 12 } },
	  36 },
	{ FDX_FORMAT_NV21,
	  6,
	  4,
	  1,
	  false,
	  { { 6, 4, 6, 0, 24 }, { 3, 2, 6, 24, 12 } },
	  36 },
	{ FDX_FORMAT_YUYV, 6, 4, 0, false, { { 6, 4, 12, 0, 48 } }, 48 },
	{ FDX_FORMAT_UYVY, 6, 4, 0, false, { { 6, 4, 12, 0, 48 } }, 48 },
	{ FDX_FORMAT_I420,
	  6,
	  4,
	  0,
	  false,
	  { { 6, 4, 6, 0, 24 }, { 3, 2, 3, 24, 6 }, { 3, 2, 3, 30, 6 } },
	  36 },
	/* 6x4, align 64: every stride one block, planes at multiples of 64 */
	{ FDX_FORMAT_U8, 6, 4, 64, false, { { 6, 4, 64, 0, 256 } }, 256 },
	{ FDX_FORMAT_U16, 6, 4, 64, false, { { 6, 4, 64, 0, 256 } }, 256 },
	{ FDX_FORMAT_RGB24, 6, 4, 64, false, { { 6, 4, 64, 0, 256 } }, 256 },
	{ FDX_FORMAT_RGBX, 6, 4, 64, false, { { 6, 4, 64, 0, 256 } }, 256 },
	{ FDX_FORMAT_NV12,
	  6,
	  4,
	  64,
	  false,
	  { { 6, 4, 64, 0, 256 }, { 3, 2, 64, 256, 128 } },
	  384 },
	{ FDX_FORMAT_NV21,
	  6,
	  4,
	  64,
	  false,
	  { { 6, 4, 64, 0, 256 }, { 3, 2, 64, 256, 128 } },
	  384 },
	{ FDX_FORMAT_YUYV, 6, 4, 64, false, { { 6, 4, 64, 0, 256 } }, 256 },
	{ FDX_FORMAT_UYVY, 6, 4, 64, false, { { 6, 4, 64, 0, 256 } }, 256 },
	{ FDX_FORMAT_I420,
	  6,
	  4,
	  64,
	  false,
	  { { 6, 4, 64, 0, 256 }, { 3, 2, 64, 256, 128 }, { 3, 2, 64, 384, 128 } },
	  512 },
	/* a page per row */
	{ FDX_FORMAT_NV12,
	  6,
	  4,
	  4096,
	  false,
	  { { 6, 4, 4096, 0, 16384 }, { 3, 2, 4096, 16384, 8192 } },
	  24576 },
	{ FDX_FORMAT_RGB24, 1365, 2, 4096, false, { { 1365, 2, 4096, 0, 8192 } }, 8192 },
	{ FDX_FORMAT_RGB24, 1366, 1, 4096, false, { { 1366, 1, 8192, 0, 8192 } }, 8192 },
	{ FDX_FORMAT_RGBX, 1025, 1, 4096, false, { { 1025, 1, 8192, 0, 8192 } }, 8192 },
	/* odd sizes where the format allows them */
	{ FDX_FORMAT_U8, 5, 3, 0, false, { { 5, 3, 5, 0, 15 } }, 15 },
	{ FDX_FORMAT_U16, 5, 3, 0, false, { { 5, 3, 10, 0, 30 } }, 30 },
	{ FDX_FORMAT_RGB24, 5, 3, 0, false, { { 5, 3, 15, 0, 45 } }, 45 },
	{ FDX_FORMAT_RGBX, 5, 3, 1, false, { { 5, 3, 20, 0, 60 } }, 60 },
	{ FDX_FORMAT_RGB24, 5, 3, 64, false, { { 5, 3, 64, 0, 192 } }, 192 },
	{ FDX_FORMAT_U16, 33, 1, 64, false, { { 33, 1, 128, 0, 128 } }, 128 },
	{ FDX_FORMAT_YUYV, 6, 3, 0, false, { { 6, 3, 12, 0, 36 } }, 36 },
	{ FDX_FORMAT_UYVY, 2, 1, 4096, false, { { 2, 1, 4096, 0, 4096 } }, 4096 },
	{ FDX_FORMAT_U8, 1, 1, 0, false, { { 1, 1, 1, 0, 1 } }, 1 },
	/* a plane per fd: every plane at offset 0 */
	{ FDX_FORMAT_I420,
	  1920,
	  1080,
	  0,
	  true,
	  { { 1920, 1080, 1920, 0, 2073600 },
	    { 960, 540, 960, 0, 518400 },
	    { 960, 540, 960, 0, 518400 } },
	  3110400 },
	{ FDX_FORMAT_NV21,
	  2,
	  2,
	  64,
	  true,
	  { { 2, 2, 64, 0, 128 }, { 1, 1, 64, 0, 64 } },
	  192 },
};

START_TEST(layout_by_hand)
{
	const struct layout_case *c = &layout_cases[_i];
	const struct fdx_format_desc *d = fdx_format_desc(c->format);
	struct fdx_object o;
	uint64_t sizes[FDX_MAX_PLANES];
	unsigned nfds;

	layout(&o, c->format, c->w, c->h, c->align, c->per_plane);
	ck_assert_uint_eq(o.nplanes, d->nplanes);
	for (unsigned i = 0; i < o.nplanes; i++) {
		const struct fdx_plane *pl = &o.planes[i];

		ck_assert_msg(
			pl->width == c->p[i].width && pl->height == c->p[i].height &&
				pl->stride == c->p[i].stride &&
				pl->offset == c->p[i].offset && pl->size == c->p[i].size,
			"%s %ux%u align %u plane %u: %ux%u stride %u offset %llu size "
			"%llu",
			d->name, c->w, c->h, c->align, i, pl->width, pl->height, pl->stride,
			(unsigned long long)pl->offset, (unsigned long long)pl->size);
		ck_assert_uint_eq(pl->fd_index, c->per_plane ? i : 0);
	}
	ck_assert_uint_eq(o.size, c->total);
	nfds = need_sizes(&o, sizes);
	ck_assert_uint_eq(nfds, c->per_plane ? d->nplanes : 1);
	if (!c->per_plane)
		ck_assert_uint_eq(sizes[0], c->total);
	else
		for (unsigned i = 0; i < nfds; i++)
			ck_assert_uint_eq(sizes[i], c->p[i].size);
}
END_TEST

/* Every format, size and align: the rules hold and check accepts what layout made. */
START_TEST(layout_properties)
{
	static const uint32_t aligns[] = { 0, 1, 2, 64, 256, 4096 };
	static const uint32_t dims[][2] = { { 1, 1 },	    { 2, 2 },	    { 5, 3 },
					    { 6, 4 },	    { 7, 2 },	    { 640, 481 },
					    { 1920, 1080 }, { 1921, 1081 }, { 4094, 2 } };

	for (unsigned f = 1; f <= FDX_FORMAT_MAX; f++) {
		const struct fdx_format_desc *d = fdx_format_desc(f);

		for (unsigned a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
			for (unsigned s = 0; s < sizeof(dims) / sizeof(dims[0]); s++) {
				for (int per = 0; per < 2; per++) {
					uint32_t w = dims[s][0], h = dims[s][1];
					uint32_t al = aligns[a] ? aligns[a] : 1;
					bool legal = !(d->even_width && w % 2) &&
						     !(d->even_height && h % 2);
					uint64_t sizes[FDX_MAX_PLANES], end = 0, sum = 0;
					unsigned nfds;
					struct fdx_object o;
					int r = fdx_image_layout(f, w, h, aligns[a], per,
								 &o);

					if (!legal) {
						ck_assert_int_eq(r, -EINVAL);
						continue;
					}
					ck_assert_int_eq(r, 0);
					for (unsigned i = 0; i < o.nplanes; i++) {
						const struct fdx_plane *pl = &o.planes[i];
						uint64_t row = fdx_image_row_bytes(&o, i);

						ck_assert_uint_eq(pl->width,
								  w / d->hsub[i]);
						ck_assert_uint_eq(pl->height,
								  h / d->vsub[i]);
						ck_assert_uint_eq(row, (uint64_t)pl->width *
									       d->bpp[i]);
						ck_assert_uint_ge(pl->stride, row);
						ck_assert_uint_lt(pl->stride, row + al);
						ck_assert_uint_eq(pl->stride % al, 0);
						ck_assert_uint_eq(pl->offset % al, 0);
						ck_assert_uint_eq(pl->size,
								  (uint64_t)pl->stride *
									  pl->height);
						if (per) {
							ck_assert_uint_eq(pl->offset, 0);
						} else {
							ck_assert_uint_ge(pl->offset, end);
							ck_assert_uint_lt(pl->offset,
									  end + al);
							end = pl->offset + pl->size;
						}
						sum += pl->size;
					}
					ck_assert_uint_eq(o.size, sum);
					nfds = need_sizes(&o, sizes);
					ck_assert_int_eq(
						fdx_image_check(&o, sizes, nfds, NULL, 0),
						0);
				}
			}
		}
	}
}
END_TEST

START_TEST(layout_refusals)
{
	struct fdx_object o, before;

	memset(&o, 0xa5, sizeof(o));
	before = o;
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_RAW, 4, 4, 0, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_MAX + 1, 4, 4, 0, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, 0, 4, 0, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, 4, 0, 0, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_NV12, 1919, 1080, 0, false, &o),
			 -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_NV12, 1920, 1079, 0, false, &o),
			 -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_NV21, 3, 2, 0, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_I420, 4, 3, 0, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_YUYV, 5, 2, 0, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_UYVY, 1, 1, 0, false, &o), -EINVAL);
	/* align: a power of two, at most a page */
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, 4, 4, 3, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, 4, 4, 96, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, 4, 4, 8192, false, &o), -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, 4, 4, 1u << 31, false, &o),
			 -EINVAL);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, 4, 4, UINT32_MAX, false, &o),
			 -EINVAL);
	ck_assert_mem_eq(&o, &before, sizeof(o));
}
END_TEST

START_TEST(layout_overflow)
{
	struct fdx_object o, before;

	memset(&o, 0x5a, sizeof(o));
	before = o;
	/* stride past 32 bits */
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_RGB24, 1u << 31, 1, 0, false, &o),
			 -EOVERFLOW);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U16, 1u << 31, 1, 0, false, &o),
			 -EOVERFLOW);
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_RGBX, 1u << 30, 2, 0, false, &o),
			 -EOVERFLOW);
	/* a row that fits only until the align rounds it up */
	ck_assert_int_eq(fdx_image_layout(FDX_FORMAT_U8, UINT32_MAX, 1, 64, false, &o),
			 -EOVERFLOW);
	ck_assert_int_eq(
		fdx_image_layout(FDX_FORMAT_RGBX, (1u << 30) - 1, 1, 4096, false, &o),
		-EOVERFLOW);
	/* sizes beyond what an off_t (ftruncate, mmap) can hold */
	ck_assert_int_eq(
		fdx_image_layout(FDX_FORMAT_U8, UINT32_MAX, UINT32_MAX, 0, false, &o),
		-EOVERFLOW);
	ck_assert_int_eq(
		fdx_image_layout(FDX_FORMAT_RGBX, (1u << 30) - 1, UINT32_MAX, 0, true, &o),
		-EOVERFLOW);
	/* each plane fits, their sum does not */
	ck_assert_int_eq(
		fdx_image_layout(FDX_FORMAT_I420, 1u << 31, UINT32_MAX - 1, 0, false, &o),
		-EOVERFLOW);
	ck_assert_mem_eq(&o, &before, sizeof(o));

	/* the largest row still fits */
	layout(&o, FDX_FORMAT_U8, UINT32_MAX, 1, 0, false);
	ck_assert_uint_eq(o.planes[0].stride, UINT32_MAX);
	layout(&o, FDX_FORMAT_RGBX, (1u << 30) - 1, 1, 4, false);
	ck_assert_uint_eq(o.planes[0].stride, UINT32_MAX - 3);
	layout(&o, FDX_FORMAT_U8, 1u << 31, 1u << 31, 0, false);
	ck_assert_uint_eq(o.size, 1ull << 62);
}
END_TEST

START_TEST(fd_sizes)
{
	struct fdx_object o;
	uint64_t sizes[FDX_MAX_PLANES];
	unsigned nfds = 99;

	layout(&o, FDX_FORMAT_I420, 1920, 1080, 0, true);
	ck_assert_int_eq(fdx_image_fd_sizes(&o, sizes, &nfds), 0);
	ck_assert_uint_eq(nfds, 3);
	ck_assert_uint_eq(sizes[0], 2073600);
	ck_assert_uint_eq(sizes[1], 518400);
	ck_assert_uint_eq(sizes[2], 518400);

	/* planes listed out of order: each fd needs the end of its last plane */
	layout(&o, FDX_FORMAT_I420, 4, 2, 0, false);
	o.planes[0].offset = 12;
	o.planes[1].offset = 0;
	o.planes[2].offset = 2;
	ck_assert_int_eq(fdx_image_fd_sizes(&o, sizes, &nfds), 0);
	ck_assert_uint_eq(nfds, 1);
	ck_assert_uint_eq(sizes[0], 20);

	o.planes[2].fd_index = FDX_MAX_PLANES;
	ck_assert_int_eq(fdx_image_fd_sizes(&o, sizes, &nfds), -EINVAL);
	o.planes[2].fd_index = 0;
	o.planes[2].offset = UINT64_MAX;
	ck_assert_int_eq(fdx_image_fd_sizes(&o, sizes, &nfds), -EOVERFLOW);
}
END_TEST

/* ---- check ---- */

START_TEST(check_exact_size)
{
	static const unsigned formats[] = { FDX_FORMAT_NV12, FDX_FORMAT_I420,
					    FDX_FORMAT_RGBX, FDX_FORMAT_YUYV };

	for (unsigned k = 0; k < sizeof(formats) / sizeof(formats[0]); k++) {
		for (int per = 0; per < 2; per++) {
			struct fdx_object o;
			uint64_t sizes[FDX_MAX_PLANES];
			unsigned nfds;

			layout(&o, formats[k], 1920, 1080, 64, per);
			nfds = need_sizes(&o, sizes);
			ck_assert_int_eq(fdx_image_check(&o, sizes, nfds, NULL, 0), 0);
			/* more is fine: a buffer may be larger than its image */
			sizes[nfds - 1] += 4096;
			ck_assert_int_eq(fdx_image_check(&o, sizes, nfds, NULL, 0), 0);
			sizes[nfds - 1] -= 4097;
			refused(&o, sizes, nfds, -ERANGE, "> fd size");
		}
	}
}
END_TEST

START_TEST(check_fd_too_small_words)
{
	struct fdx_object o;
	uint64_t sizes[FDX_MAX_PLANES] = { 4096 };

	layout(&o, FDX_FORMAT_NV12, 1920, 1080, 0, false);
	refused(&o, sizes, 1, -ERANGE,
		"plane 0: offset 0 + 1080 rows x 1920 stride = 2073600 > fd size 4096");
	sizes[0] = 3110399;
	refused(&o, sizes, 1, -ERANGE,
		"plane 1: offset 2073600 + 540 rows x 1920 stride = 3110400 > fd size 3110399");
	/* a plane cut after its last pixel byte, not at stride x rows, says so in bytes */
	layout(&o, FDX_FORMAT_U8, 10, 2, 64, false);
	o.planes[0].size = 74;
	o.size = 74;
	sizes[0] = 73;
	refused(&o, sizes, 1, -ERANGE, "plane 0: offset 0 + size 74 = 74 > fd size 73");
	sizes[0] = 74;
	ck_assert_int_eq(fdx_image_check(&o, sizes, 1, NULL, 0), 0);
}
END_TEST

START_TEST(check_violations)
{
	struct fdx_object good, o;
	uint64_t sizes[FDX_MAX_PLANES];
	unsigned nfds;

	layout(&good, FDX_FORMAT_NV12, 1920, 1080, 0, false);
	nfds = need_sizes(&good, sizes);

	o = good;
	o.kind = FDX_KIND_RAW;
	refused(&o, sizes, nfds, -EINVAL, "kind 1 is not an image");

	o = good;
	o.format = 77;
	refused(&o, sizes, nfds, -EINVAL, "format 77 unknown");
	o.format = FDX_FORMAT_RAW;
	refused(&o, sizes, nfds, -EINVAL, "format 0 unknown");

	o = good;
	o.width = 0;
	refused(&o, sizes, nfds, -EINVAL, "nv12 needs width and height >= 1, got 0x1080");

	o = good;
	o.width = 1919;
	refused(&o, sizes, nfds, -EINVAL, "nv12 needs even width, got 1919");
	o = good;
	o.height = 1079;
	refused(&o, sizes, nfds, -EINVAL, "nv12 needs even height, got 1079");

	o = good;
	o.nplanes = 1;
	refused(&o, sizes, nfds, -EINVAL, "nv12 has 2 planes, got 1");
	o.nplanes = 3;
	refused(&o, sizes, nfds, -EINVAL, "nv12 has 2 planes, got 3");

	o = good;
	o.planes[1].height = 500;
	refused(&o, sizes, nfds, -EINVAL,
		"plane 1: 500 rows, nv12 needs 540 for height 1080");
	o = good;
	o.planes[1].width = 1920;
	refused(&o, sizes, nfds, -EINVAL,
		"plane 1: width 1920, nv12 needs 960 for width 1920");

	o = good;
	o.planes[1].stride = 960;
	refused(&o, sizes, nfds, -EINVAL, "plane 1: stride 960 < 1920 row bytes");
	o.planes[1].stride = 0;
	refused(&o, sizes, nfds, -EINVAL, "plane 1: stride 0 < 1920 row bytes");

	o = good;
	o.planes[1].size = 0;
	o.size = good.planes[0].size;
	refused(&o, sizes, nfds, -EINVAL, "plane 1: size 0");

	/* the last row needs its pixels only, not its padding */
	o = good;
	o.planes[0].size -= 1;
	o.size -= 1;
	refused(&o, sizes, nfds, -EINVAL,
		"plane 0: size 2073599 < 2073600 needed for 1080 rows x 1920 stride");

	o = good;
	o.planes[1].offset = 2073600 - 1920;
	refused(&o, sizes, nfds, -EINVAL, "planes 0 and 1 overlap in fd 0");
	o.planes[1].offset = 0;
	refused(&o, sizes, nfds, -EINVAL, "planes 0 and 1 overlap in fd 0");

	o = good;
	o.size = 5;
	refused(&o, sizes, nfds, -EINVAL,
		"object size 5 != 3110400, the sum of its planes");

	o = good;
	o.planes[1].offset = UINT64_MAX - 10;
	refused(&o, sizes, nfds, -EOVERFLOW,
		"plane 1: offset 18446744073709551605 + size "
		"1036800 overflows");

	o = good;
	o.planes[1].fd_index = 1;
	refused(&o, sizes, nfds, -ERANGE, "plane 1: fd index 1, but 1 fd received");
	refused(&o, sizes, 0, -ERANGE, "plane 0: fd index 0, but 0 fds received");

	/* why is optional, and a short one is cut, not overrun */
	o = good;
	o.format = 77;
	ck_assert_int_eq(fdx_image_check(&o, sizes, nfds, NULL, 0), -EINVAL);
	{
		char tiny[8];

		memset(tiny, 'x', sizeof(tiny));
		ck_assert_int_eq(fdx_image_check(&o, sizes, nfds, tiny, 4), -EINVAL);
		ck_assert_str_eq(tiny, "for");
		ck_assert_int_eq(tiny[4], 'x');
	}
}
END_TEST

START_TEST(check_other_formats)
{
	struct fdx_object good, o;
	uint64_t sizes[FDX_MAX_PLANES];
	unsigned nfds;

	layout(&good, FDX_FORMAT_YUYV, 6, 3, 0, false);
	nfds = need_sizes(&good, sizes);
	o = good;
	o.width = 5;
	o.planes[0].width = 5;
	refused(&o, sizes, nfds, -EINVAL, "yuyv needs even width, got 5");

	layout(&good, FDX_FORMAT_I420, 1920, 1080, 0, true);
	nfds = need_sizes(&good, sizes);
	o = good;
	o.planes[2].size = 0;
	o.size -= good.planes[2].size;
	refused(&o, sizes, nfds, -EINVAL, "plane 2: size 0");
	o = good;
	o.planes[2].offset = 16;
	refused(&o, sizes, nfds, -ERANGE,
		"plane 2: offset 16 + 540 rows x 960 stride = 518416 > fd size 518400");
	/* planes in different fds may sit at the same offset; in one fd they may not */
	o = good;
	o.planes[2].fd_index = 1;
	refused(&o, sizes, nfds, -EINVAL, "planes 1 and 2 overlap in fd 1");

	/* sizes that each fit but whose sum wraps */
	layout(&good, FDX_FORMAT_NV12, 2, 2, 0, true);
	o = good;
	o.planes[0].size = 1ull << 63;
	o.planes[1].size = 1ull << 63;
	refused(&o, sizes, nfds, -EOVERFLOW, "sum of plane sizes overflows");

	/* U16 rows are two bytes a pixel */
	layout(&good, FDX_FORMAT_U16, 7, 2, 0, false);
	nfds = need_sizes(&good, sizes);
	o = good;
	o.planes[0].stride = 7;
	refused(&o, sizes, nfds, -EINVAL, "plane 0: stride 7 < 14 row bytes");
}
END_TEST

START_TEST(pixel_or_padding)
{
	struct fdx_object o;

	layout(&o, FDX_FORMAT_RGB24, 1921, 3, 64, false);
	ck_assert(fdx_image_is_pixel(&o, 0, 0));
	ck_assert(fdx_image_is_pixel(&o, 0, 5762));
	ck_assert(!fdx_image_is_pixel(&o, 0, 5763));
	ck_assert(!fdx_image_is_pixel(&o, 0, 5823));
	ck_assert(fdx_image_is_pixel(&o, 0, 5824));
	ck_assert(fdx_image_is_pixel(&o, 0, 2 * 5824 + 5762));
	ck_assert(!fdx_image_is_pixel(&o, 0, 3 * 5824));
	ck_assert(!fdx_image_is_pixel(&o, 1, 0));
	ck_assert_uint_eq(fdx_image_row_bytes(&o, 1), 0);
	ck_assert_uint_eq(fdx_image_row_bytes(&o, FDX_MAX_PLANES + 3), 0);

	layout(&o, FDX_FORMAT_NV12, 6, 4, 64, false);
	ck_assert_uint_eq(fdx_image_row_bytes(&o, 0), 6);
	ck_assert_uint_eq(fdx_image_row_bytes(&o, 1), 6);
	ck_assert(fdx_image_is_pixel(&o, 1, 64 + 5));
	ck_assert(!fdx_image_is_pixel(&o, 1, 64 + 6));
	ck_assert(!fdx_image_is_pixel(&o, 1, 128));
	o.format = 77;
	ck_assert_uint_eq(fdx_image_row_bytes(&o, 0), 0);
}
END_TEST

/* ---- colour ---- */

/*
 * In loops that run many thousand times: ck_assert marks a point on success, which in
 * fork mode is a write to the parent each time, so only failures go through check here.
 */
static void assert_near(int got, int want, int tol, const char *what)
{
	if (abs(got - want) > tol)
		ck_abort_msg("%s: %d, expected %d +- %d", what, got, want, tol);
}

START_TEST(colour_known)
{
	/* BT.601 limited range, from Y = 16 + 219 Y', U = 128 + 224 Pb, V = 128 + 224 Pr */
	static const struct {
		uint8_t r, g, b, y, u, v;
		const char *name;
	} known[] = {
		{ 0, 0, 0, 16, 128, 128, "black" },
		{ 255, 255, 255, 235, 128, 128, "white" },
		{ 255, 0, 0, 81, 90, 240, "red" },
		{ 0, 255, 0, 145, 54, 34, "green" },
		{ 0, 0, 255, 41, 240, 110, "blue" },
		{ 128, 128, 128, 126, 128, 128, "mid grey" },
		{ 255, 255, 0, 210, 16, 146, "yellow" },
		{ 0, 255, 255, 170, 166, 16, "cyan" },
		{ 255, 0, 255, 106, 202, 222, "magenta" },
	};

	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		uint8_t y, u, v, r, g, b;

		fdx_rgb_to_yuv(known[i].r, known[i].g, known[i].b, &y, &u, &v);
		assert_near(y, known[i].y, 2, known[i].name);
		assert_near(u, known[i].u, 2, known[i].name);
		assert_near(v, known[i].v, 2, known[i].name);
		fdx_yuv_to_rgb(known[i].y, known[i].u, known[i].v, &r, &g, &b);
		assert_near(r, known[i].r, 2, known[i].name);
		assert_near(g, known[i].g, 2, known[i].name);
		assert_near(b, known[i].b, 2, known[i].name);
	}
}
END_TEST

START_TEST(colour_exact_ends)
{
	uint8_t y, u, v, r, g, b, prev = 0;

	/* the range ends are exact, and every gray has neutral chroma */
	for (unsigned k = 0; k < 256; k++) {
		fdx_rgb_to_yuv(k, k, k, &y, &u, &v);
		ck_assert_uint_eq(u, 128);
		ck_assert_uint_eq(v, 128);
		ck_assert_uint_ge(y, prev);
		prev = y;
		fdx_yuv_to_rgb(y, u, v, &r, &g, &b);
		ck_assert(r == g && g == b);
		assert_near(r, k, 1, "gray");
		ck_assert_uint_eq(fdx_rgb_to_gray(k, k, k), k);
	}
	fdx_rgb_to_yuv(0, 0, 0, &y, &u, &v);
	ck_assert_uint_eq(y, 16);
	fdx_rgb_to_yuv(255, 255, 255, &y, &u, &v);
	ck_assert_uint_eq(y, 235);
	/* out-of-range YUV clamps instead of wrapping */
	fdx_yuv_to_rgb(255, 255, 255, &r, &g, &b);
	ck_assert_uint_eq(r, 255);
	ck_assert_uint_eq(b, 255);
	fdx_yuv_to_rgb(0, 0, 0, &r, &g, &b);
	ck_assert_uint_eq(r, 0);
	ck_assert_uint_eq(b, 0);
	ck_assert_uint_eq(fdx_rgb_to_gray(255, 0, 0), 76);
	ck_assert_uint_eq(fdx_rgb_to_gray(0, 255, 0), 150);
	ck_assert_uint_eq(fdx_rgb_to_gray(0, 0, 255), 29);
}
END_TEST

/* |got - want| within 0.5 (rounding) plus what 16.16 fixed point may add */
static void assert_rounds(int got, double want, const char *what, int a, int b, int c)
{
	double d = got - want;

	if (d > 0.51 || d < -0.51)
		ck_abort_msg("%s of %d,%d,%d: %d, exact %.3f", what, a, b, c, got, want);
}

static double clamp255(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* The integer conversion is the BT.601 formula rounded, not merely near it. */
START_TEST(colour_matches_formula)
{
	const double kr = 0.299, kb = 0.114, kg = 1 - kr - kb;

	for (int r = 0; r < 256; r += 5)
		for (int g = 0; g < 256; g += 5)
			for (int b = 0; b < 256; b += 5) {
				double ey = kr * r + kg * g + kb * b; /* 0..255 */
				uint8_t y, u, v;

				fdx_rgb_to_yuv(r, g, b, &y, &u, &v);
				assert_rounds(y, 16 + ey * 219 / 255, "Y", r, g, b);
				assert_rounds(u,
					      128 + (b - ey) / (2 * (1 - kb)) * 224 / 255,
					      "U", r, g, b);
				assert_rounds(v,
					      128 + (r - ey) / (2 * (1 - kr)) * 224 / 255,
					      "V", r, g, b);
				assert_rounds(fdx_rgb_to_gray(r, g, b), ey, "gray", r, g,
					      b);
			}
	for (int y = 0; y < 256; y += 3)
		for (int u = 0; u < 256; u += 3)
			for (int v = 0; v < 256; v += 3) {
				double c = (y - 16) * 255.0 / 219,
				       d = (u - 128) * 255.0 / 224,
				       e = (v - 128) * 255.0 / 224;
				double er = c + 2 * (1 - kr) * e, eb = c + 2 * (1 - kb) * d;
				double eg = (c - kr * er - kb * eb) / kg;
				uint8_t r, g, b;

				/* eg from er and eb unclamped, as the matrix has it */
				fdx_yuv_to_rgb(y, u, v, &r, &g, &b);
				assert_rounds(r, clamp255(er), "R", y, u, v);
				assert_rounds(g, clamp255(eg), "G", y, u, v);
				assert_rounds(b, clamp255(eb), "B", y, u, v);
			}
}
END_TEST

START_TEST(colour_round_trip)
{
	static const uint8_t set[][3] = {
		{ 0, 0, 0 },	   { 255, 255, 255 }, { 255, 0, 0 },	{ 0, 255, 0 },
		{ 0, 0, 255 },	   { 128, 128, 128 }, { 200, 100, 50 }, { 12, 34, 56 },
		{ 250, 240, 230 }, { 70, 130, 180 },  { 255, 165, 0 },	{ 75, 0, 130 },
		{ 1, 254, 127 },   { 33, 33, 200 },   { 190, 210, 20 }, { 99, 1, 99 },
	};

	for (unsigned i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		uint8_t y, u, v, r, g, b;

		fdx_rgb_to_yuv(set[i][0], set[i][1], set[i][2], &y, &u, &v);
		ck_assert(y >= 16 && y <= 235 && u >= 16 && u <= 240 && v >= 16 &&
			  v <= 240);
		fdx_yuv_to_rgb(y, u, v, &r, &g, &b);
		assert_near(r, set[i][0], 3, "R");
		assert_near(g, set[i][1], 3, "G");
		assert_near(b, set[i][2], 3, "B");
	}
	/* and a coarse sweep of the whole cube */
	for (unsigned r0 = 0; r0 < 256; r0 += 15)
		for (unsigned g0 = 0; g0 < 256; g0 += 15)
			for (unsigned b0 = 0; b0 < 256; b0 += 15) {
				uint8_t y, u, v, r, g, b;

				fdx_rgb_to_yuv(r0, g0, b0, &y, &u, &v);
				fdx_yuv_to_rgb(y, u, v, &r, &g, &b);
				assert_near(r, r0, 3, "R");
				assert_near(g, g0, 3, "G");
				assert_near(b, b0, 3, "B");
			}
}
END_TEST

/* ---- conversion ---- */

/* A 4x2 picture with a different colour on every pixel. */
static const uint8_t pic[2][4][3] = {
	{ { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 255, 255, 255 } },
	{ { 0, 0, 0 }, { 128, 128, 128 }, { 255, 255, 0 }, { 200, 100, 50 } },
};

/* Plane pointers of o inside base, where fd i starts at base + fd_start[i]. */
static void plane_ptrs(const struct fdx_object *o, uint8_t *base, const uint64_t *fd_start,
		       uint8_t *wr[FDX_MAX_PLANES], const uint8_t *rd[FDX_MAX_PLANES])
{
	for (unsigned i = 0; i < o->nplanes; i++) {
		wr[i] = base + fd_start[o->planes[i].fd_index] + o->planes[i].offset;
		rd[i] = wr[i];
	}
}

/* A buffer for all fds of o, back to back, filled with fill so untouched bytes show. */
static uint8_t *image_buffer(const struct fdx_object *o, uint8_t fill,
			     uint64_t fd_start[FDX_MAX_PLANES], size_t *len)
{
	uint64_t sizes[FDX_MAX_PLANES];
	unsigned nfds = need_sizes(o, sizes);
	uint64_t total = 0;
	uint8_t *buf;

	for (unsigned i = 0; i < nfds; i++) {
		fd_start[i] = total;
		total += sizes[i];
	}
	buf = malloc(total);
	ck_assert_ptr_nonnull(buf);
	memset(buf, fill, total);
	*len = total;
	return buf;
}

static void expect_yuv(unsigned px, unsigned py, uint8_t yuv[3])
{
	fdx_rgb_to_yuv(pic[py][px][0], pic[py][px][1], pic[py][px][2], &yuv[0], &yuv[1],
		       &yuv[2]);
}

/* The chroma of n pixels: the mean of each pixel's own, within rounding. */
static void expect_chroma(const unsigned (*px)[2], unsigned n, int *u, int *v)
{
	int su = 0, sv = 0;

	for (unsigned k = 0; k < n; k++) {
		uint8_t yuv[3];

		expect_yuv(px[k][0], px[k][1], yuv);
		su += yuv[1];
		sv += yuv[2];
	}
	*u = (su + (int)n / 2) / (int)n;
	*v = (sv + (int)n / 2) / (int)n;
}

START_TEST(convert_420_by_plane)
{
	static const unsigned formats[] = { FDX_FORMAT_NV12, FDX_FORMAT_NV21,
					    FDX_FORMAT_I420 };
	static const unsigned block[2][4][2] = {
		{ { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } },
		{ { 2, 0 }, { 3, 0 }, { 2, 1 }, { 3, 1 } }
	};

	for (unsigned k = 0; k < sizeof(formats) / sizeof(formats[0]); k++) {
		struct fdx_object o;
		uint64_t fd_start[FDX_MAX_PLANES];
		uint8_t *wr[FDX_MAX_PLANES], *buf;
		const uint8_t *rd[FDX_MAX_PLANES];
		size_t len;

		layout(&o, formats[k], 4, 2, 16, false);
		buf = image_buffer(&o, 0xee, fd_start, &len);
		plane_ptrs(&o, buf, fd_start, wr, rd);
		ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &pic[0][0][0], 12), 0);

		/* Y: one per pixel, exactly the per-pixel conversion */
		for (unsigned y = 0; y < 2; y++)
			for (unsigned x = 0; x < 4; x++) {
				uint8_t yuv[3];

				expect_yuv(x, y, yuv);
				ck_assert_uint_eq(rd[0][y * o.planes[0].stride + x],
						  yuv[0]);
			}
		/* chroma: one per 2x2 block, averaged */
		for (unsigned bx = 0; bx < 2; bx++) {
			int u, v, gu, gv;

			expect_chroma(block[bx], 4, &u, &v);
			if (formats[k] == FDX_FORMAT_I420) {
				gu = rd[1][bx];
				gv = rd[2][bx];
			} else {
				gu = rd[1][2 * bx + (formats[k] == FDX_FORMAT_NV21)];
				gv = rd[1][2 * bx + (formats[k] == FDX_FORMAT_NV12)];
			}
			assert_near(gu, u, 1, "U");
			assert_near(gv, v, 1, "V");
		}
		/* row padding is left alone */
		for (unsigned i = 0; i < o.nplanes; i++)
			for (uint64_t b = 0; b < o.planes[i].size; b++)
				if (!fdx_image_is_pixel(&o, i, b))
					ck_assert_uint_eq(rd[i][b], 0xee);
		free(buf);
	}
}
END_TEST

START_TEST(convert_422_by_byte)
{
	static const unsigned formats[] = { FDX_FORMAT_YUYV, FDX_FORMAT_UYVY };

	for (unsigned k = 0; k < 2; k++) {
		struct fdx_object o;
		uint64_t fd_start[FDX_MAX_PLANES];
		uint8_t *wr[FDX_MAX_PLANES], *buf;
		const uint8_t *rd[FDX_MAX_PLANES];
		bool yuyv = formats[k] == FDX_FORMAT_YUYV;
		size_t len;

		layout(&o, formats[k], 4, 2, 0, false);
		ck_assert_uint_eq(o.planes[0].stride, 8);
		buf = image_buffer(&o, 0xee, fd_start, &len);
		plane_ptrs(&o, buf, fd_start, wr, rd);
		ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &pic[0][0][0], 12), 0);
		for (unsigned y = 0; y < 2; y++) {
			for (unsigned pair = 0; pair < 2; pair++) {
				const uint8_t *p = rd[0] + y * 8 + pair * 4;
				const unsigned px[2][2] = { { 2 * pair, y },
							    { 2 * pair + 1, y } };
				uint8_t y0[3], y1[3];
				int u, v;

				expect_yuv(2 * pair, y, y0);
				expect_yuv(2 * pair + 1, y, y1);
				expect_chroma(px, 2, &u, &v);
				ck_assert_uint_eq(p[yuyv ? 0 : 1], y0[0]);
				ck_assert_uint_eq(p[yuyv ? 2 : 3], y1[0]);
				assert_near(p[yuyv ? 1 : 0], u, 1, "U");
				assert_near(p[yuyv ? 3 : 2], v, 1, "V");
			}
		}
		free(buf);
	}
}
END_TEST

/*
 * A 4x2 YUV image given by value: Y per pixel, U and V per chroma site (the two 2x2
 * blocks for 4:2:0, the four horizontal pairs for 4:2:2, indexed [row][pair]).
 */
struct yuv4x2 {
	uint8_t y[2][4];
	uint8_t u[2][2];
	uint8_t v[2][2];
};

/* Y, U, V of pixel (x, y): the chroma of its block or pair. */
static void yuv_of(const struct yuv4x2 *t, unsigned format, unsigned x, unsigned y,
		   uint8_t out[3])
{
	unsigned row = format == FDX_FORMAT_YUYV || format == FDX_FORMAT_UYVY ? y : 0;

	out[0] = t->y[y][x];
	out[1] = t->u[row][x / 2];
	out[2] = t->v[row][x / 2];
}

/* The bytes of each tight 4x2 layout, written out by hand from the format definitions. */
static const struct {
	unsigned format;
	uint8_t p[3][16];
	unsigned len[3];
} packed[] = {
	{ FDX_FORMAT_NV12,
	  { { 30, 50, 70, 90, 110, 130, 150, 170 }, { 60, 200, 180, 40 } },
	  { 8, 4 } },
	{ FDX_FORMAT_NV21,
	  { { 30, 50, 70, 90, 110, 130, 150, 170 }, { 200, 60, 40, 180 } },
	  { 8, 4 } },
	{ FDX_FORMAT_I420,
	  { { 30, 50, 70, 90, 110, 130, 150, 170 }, { 60, 180 }, { 200, 40 } },
	  { 8, 2, 2 } },
	{ FDX_FORMAT_YUYV,
	  { { 30, 60, 50, 200, 70, 180, 90, 40, 110, 100, 130, 160, 150, 220, 170, 20 } },
	  { 16 } },
	{ FDX_FORMAT_UYVY,
	  { { 60, 30, 200, 50, 180, 70, 40, 90, 100, 110, 160, 130, 220, 150, 20, 170 } },
	  { 16 } },
};

/* The values the tables above hold; 4:2:0 formats use row 0 of the chroma only. */
static const struct yuv4x2 packed_values = {
	.y = { { 30, 50, 70, 90 }, { 110, 130, 150, 170 } },
	.u = { { 60, 180 }, { 100, 220 } },
	.v = { { 200, 40 }, { 160, 20 } },
};

/* Reading: every pixel takes its own Y and the chroma of its site, in every format. */
START_TEST(convert_read_by_byte)
{
	for (unsigned k = 0; k < sizeof(packed) / sizeof(packed[0]); k++) {
		struct fdx_object o;
		const uint8_t *rd[FDX_MAX_PLANES];
		uint8_t rgb[2][4][3], gray[2][4];

		layout(&o, packed[k].format, 4, 2, 0, true);
		for (unsigned i = 0; i < o.nplanes; i++) {
			ck_assert_uint_eq(o.planes[i].size, packed[k].len[i]);
			rd[i] = packed[k].p[i];
		}
		ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, &rgb[0][0][0], 12), 0);
		ck_assert_int_eq(fdx_image_to_gray8(&o, rd, &gray[0][0], 4), 0);
		for (unsigned y = 0; y < 2; y++)
			for (unsigned x = 0; x < 4; x++) {
				uint8_t yuv[3], want[3];

				yuv_of(&packed_values, packed[k].format, x, y, yuv);
				fdx_yuv_to_rgb(yuv[0], yuv[1], yuv[2], &want[0], &want[1],
					       &want[2]);
				ck_assert_msg(!memcmp(rgb[y][x], want, 3),
					      "%s pixel %u,%u: %u %u %u, expected %u %u %u",
					      fdx_format_name(packed[k].format), x, y,
					      rgb[y][x][0], rgb[y][x][1], rgb[y][x][2],
					      want[0], want[1], want[2]);
				/* gray is Y stretched from 16..235 to 0..255 */
				assert_near(gray[y][x], (yuv[0] - 16) * 255 / 219, 1,
					    "gray");
			}
	}
}
END_TEST

/*
 * Writing: with every chroma site one flat colour, averaging changes nothing, so each
 * byte must be exactly the per-pixel conversion, at the position the tables show.
 */
START_TEST(convert_write_flat_exact)
{
	static const uint8_t left[3] = { 200, 100, 50 }, right[3] = { 12, 34, 56 };
	uint8_t src[2][4][3];
	struct yuv4x2 t;

	for (unsigned y = 0; y < 2; y++)
		for (unsigned x = 0; x < 4; x++) {
			const uint8_t *c = x < 2 ? left : right;

			memcpy(src[y][x], c, 3);
			fdx_rgb_to_yuv(c[0], c[1], c[2], &t.y[y][x], &t.u[y][x / 2],
				       &t.v[y][x / 2]);
		}
	for (unsigned k = 0; k < sizeof(packed) / sizeof(packed[0]); k++) {
		struct fdx_object o;
		uint8_t planes[3][16], *wr[FDX_MAX_PLANES];

		layout(&o, packed[k].format, 4, 2, 0, true);
		for (unsigned i = 0; i < o.nplanes; i++)
			wr[i] = planes[i];
		ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &src[0][0][0], 12), 0);
		/* map each byte back through the hand tables: where the value 30 sits in
		 * the table, Y of pixel (0,0) must sit here */
		for (unsigned i = 0; i < o.nplanes; i++)
			for (unsigned b = 0; b < packed[k].len[i]; b++) {
				uint8_t v = packed[k].p[i][b], want = 0;
				bool found = false;

				for (unsigned y = 0; y < 2 && !found; y++)
					for (unsigned x = 0; x < 4 && !found; x++) {
						uint8_t in[3], out[3];

						yuv_of(&packed_values, packed[k].format, x,
						       y, in);
						yuv_of(&t, packed[k].format, x, y, out);
						for (unsigned c = 0; c < 3 && !found; c++)
							if (in[c] == v) {
								want = out[c];
								found = true;
							}
					}
				ck_assert(found);
				ck_assert_msg(planes[i][b] == want,
					      "%s plane %u byte %u: %u, expected %u",
					      fdx_format_name(packed[k].format), i, b,
					      planes[i][b], want);
			}
	}
}
END_TEST

START_TEST(convert_rgb_and_gray_exact)
{
	static const uint8_t gray[2][3] = { { 0, 1, 254 }, { 255, 128, 7 } };
	struct fdx_object o;
	uint64_t fd_start[FDX_MAX_PLANES];
	uint8_t *wr[FDX_MAX_PLANES], *buf;
	const uint8_t *rd[FDX_MAX_PLANES];
	uint8_t back[2][4][3], g8[2][3];
	size_t len;

	layout(&o, FDX_FORMAT_RGB24, 4, 2, 64, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &pic[0][0][0], 12), 0);
	ck_assert_mem_eq(rd[0], pic[0], 12);
	ck_assert_mem_eq(rd[0] + 64, pic[1], 12);
	ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, &back[0][0][0], 12), 0);
	ck_assert_mem_eq(back, pic, sizeof(pic));
	free(buf);

	layout(&o, FDX_FORMAT_RGBX, 4, 2, 0, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &pic[0][0][0], 12), 0);
	for (unsigned x = 0; x < 4; x++) {
		ck_assert_mem_eq(rd[0] + 16 + 4 * x, pic[1][x], 3);
		ck_assert_uint_eq(rd[0][16 + 4 * x + 3], 255);
	}
	ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, &back[0][0][0], 12), 0);
	ck_assert_mem_eq(back, pic, sizeof(pic));
	free(buf);

	/* U8 from gray is a copy; from RGB it is the luma */
	layout(&o, FDX_FORMAT_U8, 3, 2, 0, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_gray8(&o, wr, &gray[0][0], 3), 0);
	ck_assert_mem_eq(rd[0], gray, 6);
	ck_assert_int_eq(fdx_image_to_gray8(&o, rd, &g8[0][0], 3), 0);
	ck_assert_mem_eq(g8, gray, 6);
	ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, &back[0][0][0], 12), 0);
	ck_assert_uint_eq(back[1][0][0], 255);
	ck_assert_uint_eq(back[1][0][2], 255);
	ck_assert_uint_eq(back[0][2][1], 254);
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &pic[0][0][0], 12), 0);
	ck_assert_uint_eq(rd[0][0], fdx_rgb_to_gray(255, 0, 0));
	ck_assert_uint_eq(rd[0][3 + 1], 128);
	free(buf);

	/* U16: 8-bit gray times 257, little-endian; back down to 8 bits exactly */
	layout(&o, FDX_FORMAT_U16, 3, 2, 0, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_gray8(&o, wr, &gray[0][0], 3), 0);
	for (unsigned y = 0; y < 2; y++)
		for (unsigned x = 0; x < 3; x++) {
			const uint8_t *p = rd[0] + y * 6 + x * 2;

			ck_assert_uint_eq(p[0] | p[1] << 8, gray[y][x] * 257u);
		}
	ck_assert_int_eq(fdx_image_to_gray8(&o, rd, &g8[0][0], 3), 0);
	ck_assert_mem_eq(g8, gray, 6);
	free(buf);
}
END_TEST

/* Flat 2x2 blocks survive RGB -> any format -> RGB within the colour tolerance. */
START_TEST(convert_round_trip_all_formats)
{
	static const uint8_t colours[][3] = { { 200, 100, 50 },	 { 12, 34, 56 },
					      { 255, 255, 255 }, { 0, 0, 0 },
					      { 70, 130, 180 },	 { 128, 128, 128 } };
	enum { W = 6, H = 4 };
	uint8_t src[H][W][3], back[H][W][3];

	/* each 2x2 block one colour, so shared chroma loses nothing */
	for (unsigned y = 0; y < H; y++)
		for (unsigned x = 0; x < W; x++)
			memcpy(src[y][x], colours[(y / 2) * 3 + x / 2], 3);
	for (unsigned f = 1; f <= FDX_FORMAT_MAX; f++) {
		for (int per = 0; per < 2; per++) {
			struct fdx_object o;
			uint64_t fd_start[FDX_MAX_PLANES];
			uint8_t *wr[FDX_MAX_PLANES], *buf;
			const uint8_t *rd[FDX_MAX_PLANES];
			bool gray = f == FDX_FORMAT_U8 || f == FDX_FORMAT_U16;
			size_t len;

			layout(&o, f, W, H, 64, per);
			buf = image_buffer(&o, 0x11, fd_start, &len);
			plane_ptrs(&o, buf, fd_start, wr, rd);
			ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &src[0][0][0], W * 3),
					 0);
			ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, &back[0][0][0], W * 3),
					 0);
			for (unsigned y = 0; y < H; y++)
				for (unsigned x = 0; x < W; x++)
					for (unsigned c = 0; c < 3; c++) {
						const uint8_t *s = src[y][x];
						int want = gray ? fdx_rgb_to_gray(
									  s[0], s[1], s[2])
								: s[c];

						ck_assert_msg(
							abs(back[y][x][c] - want) <= 3,
							"%s: pixel %u,%u channel %u: %u, "
							"expected %d",
							fdx_format_name(f), x, y, c,
							back[y][x][c], want);
					}
			free(buf);
		}
	}
}
END_TEST

/* The same picture gives the same plane bytes whether planes share an fd or not. */
START_TEST(convert_shared_or_separate_fds)
{
	struct fdx_object a, b;
	uint64_t sa[FDX_MAX_PLANES], sb[FDX_MAX_PLANES];
	uint8_t *wa[FDX_MAX_PLANES], *wb[FDX_MAX_PLANES], *ba, *bb;
	const uint8_t *ra[FDX_MAX_PLANES], *rb[FDX_MAX_PLANES];
	size_t la, lb;

	layout(&a, FDX_FORMAT_I420, 4, 2, 0, false);
	layout(&b, FDX_FORMAT_I420, 4, 2, 0, true);
	ba = image_buffer(&a, 0, sa, &la);
	bb = image_buffer(&b, 0, sb, &lb);
	ck_assert_uint_eq(la, lb);
	plane_ptrs(&a, ba, sa, wa, ra);
	plane_ptrs(&b, bb, sb, wb, rb);
	ck_assert_int_eq(fdx_image_from_rgb24(&a, wa, &pic[0][0][0], 12), 0);
	ck_assert_int_eq(fdx_image_from_rgb24(&b, wb, &pic[0][0][0], 12), 0);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_mem_eq(ra[i], rb[i], a.planes[i].size);
	free(ba);
	free(bb);
}
END_TEST

START_TEST(convert_refusals)
{
	struct fdx_object o;
	uint8_t buf[64] = { 0 }, rgb[64] = { 0 };
	uint8_t *wr[FDX_MAX_PLANES] = { buf, buf + 8 };
	const uint8_t *rd[FDX_MAX_PLANES] = { buf, buf + 8 };

	layout(&o, FDX_FORMAT_NV12, 4, 2, 0, false);
	/* a stride shorter than a packed row */
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, rgb, 11), -EINVAL);
	ck_assert_int_eq(fdx_image_from_gray8(&o, wr, rgb, 3), -EINVAL);
	ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, rgb, 11), -EINVAL);
	ck_assert_int_eq(fdx_image_to_gray8(&o, rd, rgb, 3), -EINVAL);
	/* a layout that would make the converter write out of its planes */
	o.planes[0].stride = 2;
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, rgb, 12), -EINVAL);
	ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, rgb, 12), -EINVAL);
	layout(&o, FDX_FORMAT_NV12, 4, 2, 0, false);
	o.format = 42;
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, rgb, 12), -EINVAL);
	ck_assert_int_eq(fdx_image_to_gray8(&o, rd, rgb, 4), -EINVAL);
	for (unsigned i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0);
}
END_TEST

/* ---- PNM ---- */

/* fdx_pnm_write into memory; the caller frees *out. */
static size_t pnm_to_mem(const struct fdx_pnm *p, char **out)
{
	size_t len = 0;
	FILE *f = open_memstream(out, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fdx_pnm_write(f, p), 0);
	ck_assert_int_eq(fclose(f), 0);
	return len;
}

static void pnm_round_trip(unsigned channels, unsigned maxval, const char *header)
{
	enum { W = 5, H = 3 };
	unsigned sb = maxval > 255 ? 2 : 1;
	size_t n = (size_t)W * H * channels * sb;
	uint8_t *raster = malloc(n);
	struct fdx_pnm p = {
		.channels = channels, .width = W, .height = H, .maxval = maxval
	};
	struct fdx_pnm q;
	char why[WHY_CAP] = "";
	char *file;
	size_t len;

	ck_assert_ptr_nonnull(raster);
	for (size_t i = 0; i < n; i++)
		raster[i] = (uint8_t)(i * 37 + 1);
	if (maxval != 255 && maxval != 65535) /* keep every sample legal */
		for (size_t i = 0; i < n; i += sb)
			raster[i] = 0;
	p.data = raster;
	p.size = n;
	len = pnm_to_mem(&p, &file);
	ck_assert_uint_eq(len, strlen(header) + n);
	ck_assert_mem_eq(file, header, strlen(header));
	ck_assert_msg(fdx_pnm_parse(file, len, &q, why, sizeof(why)) == 0, "parse: %s",
		      why);
	ck_assert_uint_eq(q.channels, channels);
	ck_assert_uint_eq(q.width, W);
	ck_assert_uint_eq(q.height, H);
	ck_assert_uint_eq(q.maxval, maxval);
	ck_assert_uint_eq(fdx_pnm_sample_bytes(&q), sb);
	ck_assert_uint_eq(q.size, n);
	ck_assert_uint_eq(q.header_size, strlen(header));
	ck_assert_ptr_eq(q.data, (const uint8_t *)file + strlen(header));
	ck_assert_mem_eq(q.data, raster, n);
	free(file);
	free(raster);
}

START_TEST(pnm_round_trips)
{
	pnm_round_trip(1, 255, "P5\n5 3\n255\n");
	pnm_round_trip(1, 65535, "P5\n5 3\n65535\n");
	pnm_round_trip(3, 255, "P6\n5 3\n255\n");
	pnm_round_trip(3, 65535, "P6\n5 3\n65535\n");
	pnm_round_trip(1, 1023, "P5\n5 3\n1023\n");
	pnm_round_trip(3, 256, "P6\n5 3\n256\n");
	pnm_round_trip(3, 15, "P6\n5 3\n15\n");
}
END_TEST

/* Parse a header followed by n raster bytes of value fill. */
static int parse_with(const char *header, size_t n, uint8_t fill, struct fdx_pnm *p,
		      char *why)
{
	size_t hl = strlen(header);
	uint8_t *buf = malloc(hl + n + 1);
	int r;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, header, hl);
	memset(buf + hl, fill, n);
	why[0] = '\0';
	r = fdx_pnm_parse(buf, hl + n, p, why, WHY_CAP);
	if (r == 0) /* the result points into buf: keep only what tests look at */
		p->data = NULL;
	free(buf);
	return r;
}

START_TEST(pnm_header_forms)
{
	struct fdx_pnm p;
	char why[WHY_CAP];

	static const char commented[] =
		"P5\n# made by hand\n3 # width\n2\n# maxval next\n255\n";

	ck_assert_int_eq(parse_with(commented, 6, 7, &p, why), 0);
	ck_assert_uint_eq(p.width, 3);
	ck_assert_uint_eq(p.height, 2);
	ck_assert_uint_eq(p.maxval, 255);
	ck_assert_uint_eq(p.header_size, strlen(commented));
	/* a comment is a separator on its own */
	ck_assert_int_eq(parse_with("P5 3#\n2 255\n", 6, 0, &p, why), 0);
	ck_assert_uint_eq(p.height, 2);
	/* a comment right after the magic, ended by CR; every whitespace byte netpbm knows
	 */
	ck_assert_int_eq(parse_with("P6#c\r\t3\v\f2 \r\n255\r", 18, 9, &p, why), 0);
	ck_assert_uint_eq(p.channels, 3);
	ck_assert_uint_eq(p.width, 3);
	/* the one byte after maxval may be any whitespace; the next is already a pixel */
	ck_assert_int_eq(parse_with("P5 1 1 255 ", 1, ' ', &p, why), 0);
	ck_assert_uint_eq(p.header_size, 11);
	/* leading zeros are digits like any other */
	ck_assert_int_eq(parse_with("P5 003 002 0255\n", 6, 0, &p, why), 0);
	ck_assert_uint_eq(p.width, 3);
	/* bytes after the raster (a second image) are not this image's business */
	ck_assert_int_eq(parse_with("P5 2 2 255\n", 4 + 100, 0, &p, why), 0);
	ck_assert_uint_eq(p.size, 4);
}
END_TEST

START_TEST(pnm_malformed)
{
	static const struct {
		const char *header;
		size_t raster;
		int err;
		const char *rule;
	} bad[] = {
		{ "", 0, -EINVAL, "not a PNM image" },
		{ "P", 0, -EINVAL, "not a PNM image" },
		{ "GIF89a", 0, -EINVAL, "not a PNM image" },
		{ "P8 1 1 255\n", 1, -EINVAL, "not a PNM image" },
		{ "P3 1 1 255\n", 3, -EINVAL,
		  "P3 images are not supported, only P5 and P6" },
		{ "P4 8 1\n", 1, -EINVAL, "P4 images are not supported" },
		{ "P7\nWIDTH 1\n", 0, -EINVAL, "P7 images are not supported" },
		{ "P5", 0, -EINVAL, "header truncated before width" },
		{ "P5 3", 0, -EINVAL, "header truncated after width" },
		{ "P5 3 2", 0, -EINVAL, "header truncated after height" },
		{ "P5 3 2 ", 0, -EINVAL, "header truncated before maxval" },
		{ "P5 3 2 255", 0, -EINVAL, "header truncated after maxval" },
		{ "P5 3 2 # no end to this comment", 0, -EINVAL,
		  "header truncated before maxval" },
		{ "P53 2 255\n", 6, -EINVAL, "no whitespace before width" },
		{ "P5 3x2 255\n", 6, -EINVAL, "no whitespace before height" },
		{ "P5 -3 2 255\n", 6, -EINVAL, "width: expected a decimal number" },
		{ "P5 3 +2 255\n", 6, -EINVAL, "height: expected a decimal number" },
		{ "P5 3 2 x\n", 6, -EINVAL, "maxval: expected a decimal number" },
		{ "P5 3 2 255#\n", 6, -EINVAL,
		  "maxval must be followed by one whitespace byte" },
		{ "P5 3 2 25x\n", 6, -EINVAL,
		  "maxval must be followed by one whitespace byte" },
		{ "P5 0 2 255\n", 0, -EINVAL, "size 0x2 is empty" },
		{ "P6 3 0 255\n", 0, -EINVAL, "size 3x0 is empty" },
		{ "P5 3 2 0\n", 6, -EINVAL, "maxval 0 not in 1..65535" },
		{ "P5 3 2 65536\n", 12, -EINVAL, "maxval 65536 not in 1..65535" },
		{ "P5 3 2 255\n", 5, -EINVAL, "truncated: 5 of 6 pixel bytes" },
		{ "P6 3 2 255\n", 0, -EINVAL, "truncated: 0 of 18 pixel bytes" },
		{ "P5 3 2 65535\n", 11, -EINVAL, "truncated: 11 of 12 pixel bytes" },
		{ "P6 3 2 65535\n", 35, -EINVAL, "truncated: 35 of 36 pixel bytes" },
		/* absurd numbers and sizes */
		{ "P5 4294967296 1 255\n", 0, -EOVERFLOW, "width too large" },
		{ "P5 1 99999999999999999999 255\n", 0, -EOVERFLOW, "height too large" },
		{ "P5 1 1 99999999999\n", 0, -EOVERFLOW, "maxval too large" },
		{ "P6 100000 100000 255\n", 0, -EOVERFLOW,
		  "100000x100000 image has 30000000000 bytes of pixels, more than 2147483648" },
		{ "P5 46341 46341 255\n", 0, -EOVERFLOW, "more than 2147483648" },
		{ "P6 4294967295 4294967295 65535\n", 0, -EOVERFLOW, "image too large" },
		/* 2^31 bytes exactly is allowed: it only fails as truncated */
		{ "P5 65536 32768 255\n", 0, -EINVAL,
		  "truncated: 0 of 2147483648 pixel bytes" },
		{ "P6 32768 16384 65535\n", 0, -EOVERFLOW, "more than 2147483648" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fdx_pnm p;
		char why[WHY_CAP];
		int r;

		memset(&p, 0x77, sizeof(p));
		r = parse_with(bad[i].header, bad[i].raster, 0, &p, why);
		ck_assert_msg(r == bad[i].err, "'%s': %d (%s), expected %d", bad[i].header,
			      r, why, bad[i].err);
		ck_assert_msg(strstr(why, bad[i].rule), "'%s': why '%s' lacks '%s'",
			      bad[i].header, why, bad[i].rule);
		ck_assert_uint_eq(p.width, 0x77777777); /* out untouched */
	}
}
END_TEST

START_TEST(pnm_samples_above_maxval)
{
	static const uint8_t p5[] = "P5 2 2 100\n\x00\x64\x01\x65";
	static const uint8_t p6w[] = "P6 1 1 1000\n\x00\x00\x03\xe8\x03\xe9";
	struct fdx_pnm p;
	char why[WHY_CAP] = "";

	ck_assert_int_eq(fdx_pnm_parse(p5, sizeof(p5) - 1, &p, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "sample 101 > maxval 100 at pixel 1 of row 1"), "%s",
		      why);
	ck_assert_int_eq(fdx_pnm_parse(p6w, sizeof(p6w) - 1, &p, why, sizeof(why)),
			 -EINVAL);
	ck_assert_msg(strstr(why, "sample 1001 > maxval 1000 at pixel 0 of row 0"), "%s",
		      why);
	ck_assert_int_eq(fdx_pnm_parse(p5, sizeof(p5) - 1, &p, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(pnm_write_refusals)
{
	uint8_t data[64] = { 0 };
	struct fdx_pnm ok = { .channels = 3,
			      .width = 2,
			      .height = 2,
			      .maxval = 255,
			      .data = data,
			      .size = 12 };
	struct fdx_pnm p;
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	ck_assert_ptr_nonnull(f);
	p = ok;
	p.channels = 2;
	ck_assert_int_eq(fdx_pnm_write(f, &p), -EINVAL);
	p = ok;
	p.maxval = 0;
	ck_assert_int_eq(fdx_pnm_write(f, &p), -EINVAL);
	p.maxval = 65536;
	ck_assert_int_eq(fdx_pnm_write(f, &p), -EINVAL);
	p = ok;
	p.width = 0;
	ck_assert_int_eq(fdx_pnm_write(f, &p), -EINVAL);
	p = ok;
	p.size = 11;
	ck_assert_int_eq(fdx_pnm_write(f, &p), -EINVAL);
	p.maxval = 256; /* now 24 bytes are needed */
	p.size = 12;
	ck_assert_int_eq(fdx_pnm_write(f, &p), -EINVAL);
	ck_assert_int_eq(fclose(f), 0);
	/* nothing was written by a refused call */
	ck_assert_uint_eq(len, 0);
	free(mem);
}
END_TEST

START_TEST(pnm_write_error)
{
	static uint8_t data[3 * 256 * 256];
	struct fdx_pnm p = { .channels = 3,
			     .width = 256,
			     .height = 256,
			     .maxval = 255,
			     .data = data,
			     .size = sizeof(data) };
	FILE *f = fopen("/dev/full", "we");
	int r;

	if (!f)
		return; /* no /dev/full in this container: nothing to learn */
	r = fdx_pnm_write(f, &p);
	ck_assert_int_eq(r, -ENOSPC);
	fclose(f);
}
END_TEST

/* Dump an image and read the dump back. */
static size_t dump(const struct fdx_object *o, const uint8_t *const *rd, char **file,
		   struct fdx_pnm *q)
{
	size_t len = 0;
	FILE *f = open_memstream(file, &len);
	char why[WHY_CAP] = "";

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fdx_pnm_write_image(f, o, rd), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(fdx_pnm_parse(*file, len, q, why, sizeof(why)) == 0, "%s", why);
	return len;
}

START_TEST(pnm_dump_image)
{
	struct fdx_object o;
	uint64_t fd_start[FDX_MAX_PLANES];
	uint8_t *wr[FDX_MAX_PLANES], *buf;
	const uint8_t *rd[FDX_MAX_PLANES];
	uint8_t rgb[2][4][3];
	struct fdx_pnm q;
	char *file;
	size_t len;

	/* U16 keeps all 16 bits: P5, maxval 65535, big-endian */
	layout(&o, FDX_FORMAT_U16, 3, 2, 64, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	for (unsigned y = 0; y < 2; y++)
		for (unsigned x = 0; x < 3; x++) {
			wr[0][y * 64 + 2 * x] = (uint8_t)(0x10 * x + y); /* low */
			wr[0][y * 64 + 2 * x + 1] = (uint8_t)(0xa0 + x); /* high */
		}
	dump(&o, rd, &file, &q);
	ck_assert_uint_eq(q.channels, 1);
	ck_assert_uint_eq(q.maxval, 65535);
	ck_assert_uint_eq(q.size, 12);
	for (unsigned y = 0; y < 2; y++)
		for (unsigned x = 0; x < 3; x++) {
			ck_assert_uint_eq(q.data[y * 6 + 2 * x], 0xa0 + x);
			ck_assert_uint_eq(q.data[y * 6 + 2 * x + 1], 0x10 * x + y);
		}
	free(file);
	free(buf);

	/* U8: an 8-bit P5, rows without their padding */
	layout(&o, FDX_FORMAT_U8, 3, 2, 64, false);
	buf = image_buffer(&o, 0xcc, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	memcpy(wr[0], "abc", 3);
	memcpy(wr[0] + 64, "def", 3);
	dump(&o, rd, &file, &q);
	ck_assert_uint_eq(q.channels, 1);
	ck_assert_uint_eq(q.maxval, 255);
	ck_assert_mem_eq(q.data, "abcdef", 6);
	free(file);
	free(buf);

	/* NV12: an 8-bit P6 equal to what to_rgb24 gives */
	layout(&o, FDX_FORMAT_NV12, 4, 2, 0, true);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, &pic[0][0][0], 12), 0);
	ck_assert_int_eq(fdx_image_to_rgb24(&o, rd, &rgb[0][0][0], 12), 0);
	dump(&o, rd, &file, &q);
	ck_assert_uint_eq(q.channels, 3);
	ck_assert_uint_eq(q.width, 4);
	ck_assert_uint_eq(q.height, 2);
	ck_assert_uint_eq(q.maxval, 255);
	ck_assert_mem_eq(q.data, rgb, sizeof(rgb));
	free(file);
	free(buf);
}
END_TEST

START_TEST(pnm_into_image)
{
	static const uint8_t p5w[] = "P5 2 1 65535\n\x12\x34\xfe\xdc";
	/* a 10-bit P6: 1023 is full scale */
	static const uint8_t p6w[] = "P6 2 1 1023\n\x03\xff\x00\x00\x00\x00"
				     "\x00\x00\x02\x00\x03\xff";
	static const uint8_t p6[] = "P6 2 1 255\n\xff\x00\x00\x00\x80\xff";
	struct fdx_object o;
	uint64_t fd_start[FDX_MAX_PLANES];
	uint8_t *wr[FDX_MAX_PLANES], *buf;
	const uint8_t *rd[FDX_MAX_PLANES];
	uint8_t rgb[6];
	struct fdx_pnm p;
	size_t len;

	/* P5 16-bit into U16 keeps every bit (and turns big-endian into little) */
	ck_assert_int_eq(fdx_pnm_parse(p5w, sizeof(p5w) - 1, &p, NULL, 0), 0);
	layout(&o, FDX_FORMAT_U16, 2, 1, 0, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_pnm(&o, wr, &p), 0);
	ck_assert_mem_eq(rd[0], "\x34\x12\xdc\xfe", 4);
	free(buf);

	/* other maxvals are scaled to 8 bits */
	ck_assert_int_eq(fdx_pnm_parse(p6w, sizeof(p6w) - 1, &p, NULL, 0), 0);
	layout(&o, FDX_FORMAT_RGB24, 2, 1, 0, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_pnm(&o, wr, &p), 0);
	ck_assert_mem_eq(rd[0], "\xff\x00\x00\x00\x80\xff", 6);
	free(buf);

	/* a P6 into YUV gives what from_rgb24 gives for the same pixels */
	ck_assert_int_eq(fdx_pnm_parse(p6, sizeof(p6) - 1, &p, NULL, 0), 0);
	layout(&o, FDX_FORMAT_YUYV, 2, 1, 0, false);
	buf = image_buffer(&o, 0, fd_start, &len);
	plane_ptrs(&o, buf, fd_start, wr, rd);
	ck_assert_int_eq(fdx_image_from_pnm(&o, wr, &p), 0);
	memcpy(rgb, rd[0], 4);
	ck_assert_int_eq(fdx_image_from_rgb24(&o, wr, p.data, 6), 0);
	ck_assert_mem_eq(rgb, rd[0], 4);
	free(buf);

	/* the sizes must agree */
	layout(&o, FDX_FORMAT_YUYV, 4, 1, 0, false);
	ck_assert_int_eq(fdx_image_from_pnm(&o, wr, &p), -EINVAL);
}
END_TEST

static Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc;

	tc = tc_case("formats");
	tcase_add_test(tc, format_codes_are_the_wire_values);
	tcase_add_test(tc, format_names);
	tcase_add_test(tc, format_iteration);
	tcase_add_test(tc, format_table);
	suite_add_tcase(s, tc);

	tc = tc_case("layout");
	tcase_add_test(tc, layout_nv12_1080p_tight);
	tcase_add_test(tc, layout_rgb24_1921_align64);
	tcase_add_loop_test(tc, layout_by_hand, 0,
			    sizeof(layout_cases) / sizeof(layout_cases[0]));
	tcase_add_test(tc, layout_properties);
	tcase_add_test(tc, layout_refusals);
	tcase_add_test(tc, layout_overflow);
	tcase_add_test(tc, fd_sizes);
	suite_add_tcase(s, tc);

	tc = tc_case("check");
	tcase_add_test(tc, check_exact_size);
	tcase_add_test(tc, check_fd_too_small_words);
	tcase_add_test(tc, check_violations);
	tcase_add_test(tc, check_other_formats);
	tcase_add_test(tc, pixel_or_padding);
	suite_add_tcase(s, tc);

	tc = tc_case("colour");
	tcase_add_test(tc, colour_known);
	tcase_add_test(tc, colour_exact_ends);
	tcase_add_test(tc, colour_round_trip);
	tcase_add_test(tc, colour_matches_formula);
	suite_add_tcase(s, tc);

	tc = tc_case("convert");
	tcase_add_test(tc, convert_420_by_plane);
	tcase_add_test(tc, convert_422_by_byte);
	tcase_add_test(tc, convert_read_by_byte);
	tcase_add_test(tc, convert_write_flat_exact);
	tcase_add_test(tc, convert_rgb_and_gray_exact);
	tcase_add_test(tc, convert_round_trip_all_formats);
	tcase_add_test(tc, convert_shared_or_separate_fds);
	tcase_add_test(tc, convert_refusals);
	suite_add_tcase(s, tc);

	tc = tc_case("pnm");
	tcase_add_test(tc, pnm_round_trips);
	tcase_add_test(tc, pnm_header_forms);
	tcase_add_test(tc, pnm_malformed);
	tcase_add_test(tc, pnm_samples_above_maxval);
	tcase_add_test(tc, pnm_write_refusals);
	tcase_add_test(tc, pnm_write_error);
	tcase_add_test(tc, pnm_dump_image);
	tcase_add_test(tc, pnm_into_image);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(image_suite());
}
