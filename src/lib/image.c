/* image.c - pixel formats, plane layout and checks, BT.601 colour, PNM read/write */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image.h"
#include "macro.h"

/* Indexed by code; entry 0 (raw) has no name and is never handed out. */
static const struct fdx_format_desc formats[FDX_FORMAT_MAX + 1] = {
	[FDX_FORMAT_U8] = {
		.code = FDX_FORMAT_U8, .name = "u8", .alias = "gray8",
		.summary = "8-bit gray",
		.nplanes = 1, .bpp = { 1 }, .hsub = { 1 }, .vsub = { 1 },
	},
	[FDX_FORMAT_U16] = {
		.code = FDX_FORMAT_U16, .name = "u16", .alias = "gray16",
		.summary = "16-bit gray, little-endian",
		.nplanes = 1, .bpp = { 2 }, .hsub = { 1 }, .vsub = { 1 },
	},
	[FDX_FORMAT_RGB24] = {
		.code = FDX_FORMAT_RGB24, .name = "rgb24",
		.summary = "R, G, B bytes",
		.nplanes = 1, .bpp = { 3 }, .hsub = { 1 }, .vsub = { 1 },
	},
	[FDX_FORMAT_RGBX] = {
		.code = FDX_FORMAT_RGBX, .name = "rgbx",
		.summary = "R, G, B, X bytes",
		.nplanes = 1, .bpp = { 4 }, .hsub = { 1 }, .vsub = { 1 },
	},
	[FDX_FORMAT_NV12] = {
		.code = FDX_FORMAT_NV12, .name = "nv12",
		.summary = "4:2:0, Y plane + interleaved UV plane",
		.nplanes = 2, .bpp = { 1, 2 }, .hsub = { 1, 2 }, .vsub = { 1, 2 },
		.even_width = true, .even_height = true,
	},
	[FDX_FORMAT_NV21] = {
		.code = FDX_FORMAT_NV21, .name = "nv21",
		.summary = "4:2:0, Y plane + interleaved VU plane",
		.nplanes = 2, .bpp = { 1, 2 }, .hsub = { 1, 2 }, .vsub = { 1, 2 },
		.even_width = true, .even_height = true,
	},
	[FDX_FORMAT_YUYV] = {
		.code = FDX_FORMAT_YUYV, .name = "yuyv",
		.summary = "4:2:2 packed, Y0 U Y1 V",
		.nplanes = 1, .bpp = { 2 }, .hsub = { 1 }, .vsub = { 1 },
		.even_width = true,
	},
	[FDX_FORMAT_UYVY] = {
		.code = FDX_FORMAT_UYVY, .name = "uyvy",
		.summary = "4:2:2 packed, U Y0 V Y1",
		.nplanes = 1, .bpp = { 2 }, .hsub = { 1 }, .vsub = { 1 },
		.even_width = true,
	},
	[FDX_FORMAT_I420] = {
		.code = FDX_FORMAT_I420, .name = "i420",
		.summary = "4:2:0, Y, U and V planes",
		.nplanes = 3, .bpp = { 1, 1, 1 }, .hsub = { 1, 2, 2 }, .vsub = { 1, 2, 2 },
		.even_width = true, .even_height = true,
	},
};

const struct fdx_format_desc *fdx_format_desc(unsigned format)
{
	if (format < 1 || format > FDX_FORMAT_MAX)
		return NULL;
	return &formats[format];
}

unsigned fdx_format_count(void)
{
	return FDX_FORMAT_MAX;
}

const struct fdx_format_desc *fdx_format_at(unsigned i)
{
	/* the codes are dense from 1, so the i-th format is code i + 1 */
	return i < FDX_FORMAT_MAX ? &formats[i + 1] : NULL;
}

int fdx_format_from_name(const char *name)
{
	for (unsigned f = 1; f <= FDX_FORMAT_MAX; f++) {
		const struct fdx_format_desc *d = &formats[f];

		if (!strcasecmp(name, d->name) || (d->alias && !strcasecmp(name, d->alias)))
			return (int)f;
	}
	return -EINVAL;
}

const char *fdx_format_name(unsigned format)
{
	const struct fdx_format_desc *d = fdx_format_desc(format);

	if (format == FDX_FORMAT_RAW)
		return "raw";
	return d ? d->name : "unknown";
}

/* Write the broken rule to why (when the caller wants it) and return err. */
_printf_(4, 5) static int fail(char *why, size_t whycap, int err, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whycap)
		return err;
	va_start(ap, fmt);
	vsnprintf(why, whycap, fmt, ap);
	va_end(ap);
	return err;
}

static uint32_t div_up(uint32_t a, uint32_t b)
{
	/* written so that a near UINT32_MAX cannot wrap */
	return a / b + (a % b != 0);
}

/* Round v up to align (a power of two); false when the result does not fit. */
static bool align_up(uint64_t v, uint64_t align, uint64_t *res)
{
	if (fdx_add_overflow(v, align - 1, res))
		return false;
	*res &= ~(align - 1);
	return true;
}

/* off_t is what ftruncate and mmap take: a size beyond it could never be allocated */
#define SIZE_LIMIT ((uint64_t)INT64_MAX)

int fdx_image_layout(unsigned format, uint32_t width, uint32_t height, uint32_t align,
		     bool fd_per_plane, struct fdx_object *o)
{
	const struct fdx_format_desc *d = fdx_format_desc(format);
	struct fdx_object n;
	uint64_t end = 0;

	if (!d || !width || !height)
		return -EINVAL;
	if ((d->even_width && width % 2) || (d->even_height && height % 2))
		return -EINVAL;
	if (align < 2)
		align = 1;
	if (align > FDX_IMAGE_ALIGN_MAX || (align & (align - 1)))
		return -EINVAL;

	memset(&n, 0, sizeof(n));
	n.kind = FDX_KIND_IMAGE;
	n.format = format;
	n.width = width;
	n.height = height;
	n.nplanes = (uint16_t)d->nplanes;
	for (unsigned i = 0; i < d->nplanes; i++) {
		struct fdx_plane *pl = &n.planes[i];
		uint64_t stride, offset;

		pl->width = div_up(width, d->hsub[i]);
		pl->height = div_up(height, d->vsub[i]);
		/* u32 x small constant: cannot wrap in 64 bits */
		if (!align_up((uint64_t)pl->width * d->bpp[i], align, &stride) ||
		    stride > UINT32_MAX)
			return -EOVERFLOW;
		pl->stride = (uint32_t)stride;
		if (fdx_mul_overflow(stride, pl->height, &pl->size))
			return -EOVERFLOW;
		if (fd_per_plane) {
			pl->fd_index = i;
			offset = 0;
		} else if (!align_up(end, align, &offset)) {
			return -EOVERFLOW;
		}
		pl->offset = offset;
		if (fdx_add_overflow(offset, pl->size, &end) || end > SIZE_LIMIT)
			return -EOVERFLOW;
		if (fdx_add_overflow(n.size, pl->size, &n.size) || n.size > SIZE_LIMIT)
			return -EOVERFLOW;
	}
	*o = n;
	return 0;
}

int fdx_image_fd_sizes(const struct fdx_object *o, uint64_t sizes[FDX_MAX_PLANES],
		       unsigned *nfds)
{
	unsigned n = 0;

	if (o->nplanes > FDX_MAX_PLANES)
		return -EINVAL;
	memset(sizes, 0, FDX_MAX_PLANES * sizeof(sizes[0]));
	for (unsigned i = 0; i < o->nplanes; i++) {
		const struct fdx_plane *pl = &o->planes[i];
		uint64_t end;

		if (pl->fd_index >= FDX_MAX_PLANES)
			return -EINVAL;
		if (fdx_add_overflow(pl->offset, pl->size, &end))
			return -EOVERFLOW;
		if (end > sizes[pl->fd_index])
			sizes[pl->fd_index] = end;
		if (pl->fd_index + 1 > n)
			n = pl->fd_index + 1;
	}
	*nfds = n;
	return 0;
}

/* The rules that need no fd: what a converter must be sure of before it writes. */
static int check_desc(const struct fdx_object *o, char *why, size_t whycap)
{
	const struct fdx_format_desc *d = fdx_format_desc(o->format);
	uint64_t total = 0;

	if (o->kind != FDX_KIND_IMAGE)
		return fail(why, whycap, -EINVAL, "kind %u is not an image", o->kind);
	if (!d)
		return fail(why, whycap, -EINVAL, "format %" PRIu32 " unknown", o->format);
	if (!o->width || !o->height)
		return fail(why, whycap, -EINVAL,
			    "%s needs width and height >= 1, got %" PRIu32 "x%" PRIu32,
			    d->name, o->width, o->height);
	if (d->even_width && o->width % 2)
		return fail(why, whycap, -EINVAL, "%s needs even width, got %" PRIu32,
			    d->name, o->width);
	if (d->even_height && o->height % 2)
		return fail(why, whycap, -EINVAL, "%s needs even height, got %" PRIu32,
			    d->name, o->height);
	if (o->nplanes != d->nplanes)
		return fail(why, whycap, -EINVAL, "%s has %u plane%s, got %u", d->name,
			    d->nplanes, d->nplanes == 1 ? "" : "s", o->nplanes);

	for (unsigned i = 0; i < o->nplanes; i++) {
		const struct fdx_plane *pl = &o->planes[i];
		uint32_t w = div_up(o->width, d->hsub[i]);
		uint32_t h = div_up(o->height, d->vsub[i]);
		uint64_t row = (uint64_t)w * d->bpp[i];
		uint64_t need, end;

		if (pl->width != w)
			return fail(why, whycap, -EINVAL,
				    "plane %u: width %" PRIu32 ", %s needs %" PRIu32
				    " for width %" PRIu32,
				    i, pl->width, d->name, w, o->width);
		if (pl->height != h)
			return fail(why, whycap, -EINVAL,
				    "plane %u: %" PRIu32 " rows, %s needs %" PRIu32
				    " for height %" PRIu32,
				    i, pl->height, d->name, h, o->height);
		if (!pl->size)
			return fail(why, whycap, -EINVAL, "plane %u: size 0", i);
		if (pl->stride < row)
			return fail(why, whycap, -EINVAL,
				    "plane %u: stride %" PRIu32 " < %" PRIu64 " row bytes",
				    i, pl->stride, row);
		/*
		 * The last row needs only its pixel bytes, so a tightly cut buffer is fine;
		 * with stride >= row this cannot wrap, checked anyway.
		 */
		if (fdx_mul_overflow(pl->stride, h - 1, &need) ||
		    fdx_add_overflow(need, row, &need))
			return fail(why, whycap, -EOVERFLOW,
				    "plane %u: %" PRIu32 " rows x %" PRIu32
				    " stride overflows",
				    i, h, pl->stride);
		if (pl->size < need)
			return fail(why, whycap, -EINVAL,
				    "plane %u: size %" PRIu64 " < %" PRIu64
				    " needed for %" PRIu32 " rows x %" PRIu32
				    " stride (last row %" PRIu64 " bytes)",
				    i, pl->size, need, h, pl->stride, row);
		if (fdx_add_overflow(pl->offset, pl->size, &end))
			return fail(why, whycap, -EOVERFLOW,
				    "plane %u: offset %" PRIu64 " + size %" PRIu64
				    " overflows",
				    i, pl->offset, pl->size);
		if (fdx_add_overflow(total, pl->size, &total))
			return fail(why, whycap, -EOVERFLOW,
				    "sum of plane sizes overflows");
	}

	for (unsigned i = 0; i < o->nplanes; i++) {
		const struct fdx_plane *a = &o->planes[i];

		for (unsigned j = i + 1; j < o->nplanes; j++) {
			const struct fdx_plane *b = &o->planes[j];

			/* both ends were checked above, so the sums are exact */
			if (a->fd_index == b->fd_index && a->offset < b->offset + b->size &&
			    b->offset < a->offset + a->size)
				return fail(why, whycap, -EINVAL,
					    "planes %u and %u overlap in fd %" PRIu32, i, j,
					    a->fd_index);
		}
	}
	if (o->size != total)
		return fail(why, whycap, -EINVAL,
			    "object size %" PRIu64 " != %" PRIu64 ", the sum of its planes",
			    o->size, total);
	return 0;
}

int fdx_image_check(const struct fdx_object *o, const uint64_t *fd_sizes, unsigned nfds,
		    char *why, size_t whycap)
{
	int r = check_desc(o, why, whycap);

	if (r)
		return r;
	for (unsigned i = 0; i < o->nplanes; i++) {
		const struct fdx_plane *pl = &o->planes[i];
		uint64_t end = pl->offset + pl->size; /* check_desc proved it fits */
		uint64_t have;

		if (pl->fd_index >= nfds)
			return fail(why, whycap, -ERANGE,
				    "plane %u: fd index %" PRIu32 ", but %u fd%s received",
				    i, pl->fd_index, nfds, nfds == 1 ? "" : "s");
		have = fd_sizes[pl->fd_index];
		if (end <= have)
			continue;
		/* say it in rows when the size is the usual stride x rows */
		if (pl->size == (uint64_t)pl->stride * pl->height)
			return fail(why, whycap, -ERANGE,
				    "plane %u: offset %" PRIu64 " + %" PRIu32
				    " rows x %" PRIu32 " stride = %" PRIu64
				    " > fd size %" PRIu64,
				    i, pl->offset, pl->height, pl->stride, end, have);
		return fail(why, whycap, -ERANGE,
			    "plane %u: offset %" PRIu64 " + size %" PRIu64 " = %" PRIu64
			    " > fd size %" PRIu64,
			    i, pl->offset, pl->size, end, have);
	}
	return 0;
}

uint64_t fdx_image_row_bytes(const struct fdx_object *o, unsigned plane)
{
	const struct fdx_format_desc *d = fdx_format_desc(o->format);

	if (!d || plane >= d->nplanes)
		return 0;
	return (uint64_t)o->planes[plane].width * d->bpp[plane];
}

bool fdx_image_is_pixel(const struct fdx_object *o, unsigned plane, uint64_t off)
{
	uint64_t row = fdx_image_row_bytes(o, plane);
	const struct fdx_plane *pl;

	if (!row) /* also keeps plane inside the array */
		return false;
	pl = &o->planes[plane];
	if (!pl->stride)
		return false;
	return off / pl->stride < pl->height && off % pl->stride < row;
}

/*
 * BT.601 in 16.16 fixed point. The luma weights scaled by 219/255 (limited range), the
 * chroma ones by 224/255; each chroma row sums to exactly 0 so any gray gives U = V =
 * 128, and the luma row to 219/255 so white lands on 235.
 */
enum {
	FIX_HALF = 1 << 15,
	Y_R = 16829,
	Y_G = 33039,
	Y_B = 6416,
	U_R = -9714,
	U_G = -19070,
	U_B = 28784,
	V_R = 28784,
	V_G = -24103,
	V_B = -4681,
	/* the reverse: 255/219 for luma, 255/224 times the BT.601 chroma factors */
	INV_Y = 76309,
	INV_RV = 104597,
	INV_GU = 25675,
	INV_GV = 53279,
	INV_BU = 132201,
	/* full-range luma for gray: 0.299, 0.587, 0.114, summing to 1.0 */
	L_R = 19595,
	L_G = 38470,
	L_B = 7471,
};

static uint8_t clamp8(int v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* 16.16 value to 0..255, rounded; negative numbers go to 0 before any shift. */
static uint8_t fix_to8(int32_t v)
{
	if (v < 0)
		return 0;
	return clamp8((v + FIX_HALF) >> 16);
}

static uint8_t luma_limited(unsigned r, unsigned g, unsigned b)
{
	return clamp8((int)((Y_R * r + Y_G * g + Y_B * b + (16u << 16) + FIX_HALF) >> 16));
}

static int32_t u_sum(unsigned r, unsigned g, unsigned b)
{
	return U_R * (int32_t)r + U_G * (int32_t)g + U_B * (int32_t)b;
}

static int32_t v_sum(unsigned r, unsigned g, unsigned b)
{
	return V_R * (int32_t)r + V_G * (int32_t)g + V_B * (int32_t)b;
}

/*
 * 128 + the mean of n chroma sums, rounded. Averaging the unrounded sums rounds once
 * instead of per pixel; the bias makes the numerator positive so division rounds plainly.
 */
static uint8_t chroma(int32_t sum, unsigned n)
{
	int64_t den = (int64_t)n << 16;
	int64_t num = (int64_t)sum + 128 * den + den / 2;

	return clamp8(num < 0 ? 0 : (int)(num / den));
}

void fdx_rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b, uint8_t *y, uint8_t *u, uint8_t *v)
{
	*y = luma_limited(r, g, b);
	*u = chroma(u_sum(r, g, b), 1);
	*v = chroma(v_sum(r, g, b), 1);
}

void fdx_yuv_to_rgb(uint8_t y, uint8_t u, uint8_t v, uint8_t *r, uint8_t *g, uint8_t *b)
{
	int32_t c = INV_Y * ((int32_t)y - 16);
	int32_t d = (int32_t)u - 128;
	int32_t e = (int32_t)v - 128;

	*r = fix_to8(c + INV_RV * e);
	*g = fix_to8(c - INV_GU * d - INV_GV * e);
	*b = fix_to8(c + INV_BU * d);
}

/* At most 65535 x 65536 + 32768, which still fits in 32 bits. */
static unsigned luma_full(unsigned r, unsigned g, unsigned b)
{
	return (L_R * r + L_G * g + L_B * b + FIX_HALF) >> 16;
}

uint8_t fdx_rgb_to_gray(uint8_t r, uint8_t g, uint8_t b)
{
	return (uint8_t)luma_full(r, g, b);
}

/* A packed source picture: 8-bit RGB24/gray, or a PNM raster with any maxval. */
struct src {
	const uint8_t *data;
	size_t stride;
	unsigned channels; /* 1 or 3 */
	unsigned maxval;   /* 255 for plain 8-bit */
	bool wide;	   /* 2-byte big-endian samples */
};

static unsigned scale(unsigned v, unsigned from, unsigned to)
{
	if (from == to)
		return v;
	if (v >= from)
		return to;
	return (v * to + from / 2) / from;
}

static unsigned src_sample(const struct src *s, uint32_t x, uint32_t y, unsigned c)
{
	const uint8_t *p = s->data + (size_t)y * s->stride;
	size_t i = (size_t)x * s->channels + c;

	if (s->wide)
		return (unsigned)p[2 * i] << 8 | p[2 * i + 1];
	return p[i];
}

/* 8-bit R, G, B of a source pixel; a gray source gives R = G = B. */
static void src_rgb(const struct src *s, uint32_t x, uint32_t y, unsigned rgb[3])
{
	for (unsigned c = 0; c < 3; c++)
		rgb[c] = scale(src_sample(s, x, y, s->channels == 3 ? c : 0), s->maxval,
			       255);
}

/* Gray of a source pixel on a 0..top scale (255 or 65535); RGB through full-range luma.
 */
static unsigned src_gray(const struct src *s, uint32_t x, uint32_t y, unsigned top)
{
	unsigned rgb[3];

	if (s->channels == 1)
		return scale(src_sample(s, x, y, 0), s->maxval, top);
	for (unsigned c = 0; c < 3; c++)
		rgb[c] = scale(src_sample(s, x, y, c), s->maxval, top);
	return luma_full(rgb[0], rgb[1], rgb[2]);
}

static uint8_t *plane_wr(uint8_t *const *planes, const struct fdx_object *o, unsigned i,
			 uint32_t x_bytes, uint32_t y)
{
	return planes[i] + (size_t)y * o->planes[i].stride + x_bytes;
}

static const uint8_t *plane_rd(const uint8_t *const *planes, const struct fdx_object *o,
			       unsigned i, uint32_t x_bytes, uint32_t y)
{
	return planes[i] + (size_t)y * o->planes[i].stride + x_bytes;
}

/* 4:2:0: one 2x2 block per step, its four Y and one averaged U, V. */
static void in_420(const struct fdx_object *o, uint8_t *const *pl, const struct src *s)
{
	for (uint32_t y = 0; y < o->height; y += 2) {
		for (uint32_t x = 0; x < o->width; x += 2) {
			int32_t us = 0, vs = 0;
			uint8_t u, v;

			for (unsigned k = 0; k < 4; k++) {
				uint32_t px = x + (k & 1), py = y + (k >> 1);
				unsigned rgb[3];

				src_rgb(s, px, py, rgb);
				*plane_wr(pl, o, 0, px, py) =
					luma_limited(rgb[0], rgb[1], rgb[2]);
				us += u_sum(rgb[0], rgb[1], rgb[2]);
				vs += v_sum(rgb[0], rgb[1], rgb[2]);
			}
			u = chroma(us, 4);
			v = chroma(vs, 4);
			switch (o->format) {
			case FDX_FORMAT_NV12:
				plane_wr(pl, o, 1, x, y / 2)[0] = u;
				plane_wr(pl, o, 1, x, y / 2)[1] = v;
				break;
			case FDX_FORMAT_NV21:
				plane_wr(pl, o, 1, x, y / 2)[0] = v;
				plane_wr(pl, o, 1, x, y / 2)[1] = u;
				break;
			default:
				*plane_wr(pl, o, 1, x / 2, y / 2) = u;
				*plane_wr(pl, o, 2, x / 2, y / 2) = v;
				break;
			}
		}
	}
}

/* 4:2:2 packed: one horizontal pair per step, four bytes. */
static void in_422(const struct fdx_object *o, uint8_t *const *pl, const struct src *s)
{
	/* byte positions of Y0, U, Y1, V in the four-byte group */
	const unsigned *pos = o->format == FDX_FORMAT_YUYV
				      ? (const unsigned[]){ 0, 1, 2, 3 }
				      : (const unsigned[]){ 1, 0, 3, 2 };

	for (uint32_t y = 0; y < o->height; y++) {
		for (uint32_t x = 0; x < o->width; x += 2) {
			uint8_t *p = plane_wr(pl, o, 0, x * 2, y);
			unsigned a[3], b[3];

			src_rgb(s, x, y, a);
			src_rgb(s, x + 1, y, b);
			p[pos[0]] = luma_limited(a[0], a[1], a[2]);
			p[pos[2]] = luma_limited(b[0], b[1], b[2]);
			p[pos[1]] = chroma(
				u_sum(a[0], a[1], a[2]) + u_sum(b[0], b[1], b[2]), 2);
			p[pos[3]] = chroma(
				v_sum(a[0], a[1], a[2]) + v_sum(b[0], b[1], b[2]), 2);
		}
	}
}

static void convert_in(const struct fdx_object *o, uint8_t *const *pl, const struct src *s)
{
	switch (o->format) {
	case FDX_FORMAT_NV12:
	case FDX_FORMAT_NV21:
	case FDX_FORMAT_I420:
		in_420(o, pl, s);
		return;
	case FDX_FORMAT_YUYV:
	case FDX_FORMAT_UYVY:
		in_422(o, pl, s);
		return;
	}
	for (uint32_t y = 0; y < o->height; y++) {
		for (uint32_t x = 0; x < o->width; x++) {
			unsigned rgb[3], g;
			uint8_t *p;

			switch (o->format) {
			case FDX_FORMAT_U8:
				*plane_wr(pl, o, 0, x, y) = (uint8_t)src_gray(s, x, y, 255);
				break;
			case FDX_FORMAT_U16:
				g = src_gray(s, x, y, 65535);
				p = plane_wr(pl, o, 0, x * 2, y);
				p[0] = (uint8_t)g;
				p[1] = (uint8_t)(g >> 8);
				break;
			case FDX_FORMAT_RGB24:
			case FDX_FORMAT_RGBX:
				src_rgb(s, x, y, rgb);
				p = plane_wr(pl, o, 0,
					     x * (o->format == FDX_FORMAT_RGBX ? 4 : 3), y);
				p[0] = (uint8_t)rgb[0];
				p[1] = (uint8_t)rgb[1];
				p[2] = (uint8_t)rgb[2];
				if (o->format == FDX_FORMAT_RGBX)
					p[3] = 255;
				break;
			}
		}
	}
}

/* A caller's stride must hold a packed row; computed in 64 bits, u32 width x 6 fits. */
static bool stride_ok(size_t stride, uint32_t width, unsigned bytes_per_pixel)
{
	return (uint64_t)stride >= (uint64_t)width * bytes_per_pixel;
}

int fdx_image_from_rgb24(const struct fdx_object *o, uint8_t *const *planes,
			 const uint8_t *rgb, size_t stride)
{
	struct src s = { .data = rgb, .stride = stride, .channels = 3, .maxval = 255 };
	int r = check_desc(o, NULL, 0);

	if (r)
		return r;
	if (!stride_ok(stride, o->width, 3))
		return -EINVAL;
	convert_in(o, planes, &s);
	return 0;
}

int fdx_image_from_gray8(const struct fdx_object *o, uint8_t *const *planes,
			 const uint8_t *gray, size_t stride)
{
	struct src s = { .data = gray, .stride = stride, .channels = 1, .maxval = 255 };
	int r = check_desc(o, NULL, 0);

	if (r)
		return r;
	if (!stride_ok(stride, o->width, 1))
		return -EINVAL;
	convert_in(o, planes, &s);
	return 0;
}

/* The raster of a struct fdx_pnm filled by hand, checked as the parser would. */
static int pnm_raster_bytes(const struct fdx_pnm *p, uint64_t *bytes)
{
	uint64_t n;

	if (p->channels != 1 && p->channels != 3)
		return -EINVAL;
	if (!p->width || !p->height || p->maxval < 1 || p->maxval > 65535)
		return -EINVAL;
	if (fdx_mul_overflow(p->width, p->height, &n) ||
	    fdx_mul_overflow(n, p->channels * fdx_pnm_sample_bytes(p), &n))
		return -EOVERFLOW;
	*bytes = n;
	return 0;
}

int fdx_image_from_pnm(const struct fdx_object *o, uint8_t *const *planes,
		       const struct fdx_pnm *p)
{
	struct src s = {
		.data = p->data,
		.channels = p->channels,
		.maxval = p->maxval,
		.wide = fdx_pnm_sample_bytes(p) == 2,
	};
	uint64_t bytes;
	int r = check_desc(o, NULL, 0);

	if (r)
		return r;
	r = pnm_raster_bytes(p, &bytes);
	if (r)
		return r;
	if (p->width != o->width || p->height != o->height || p->size < bytes)
		return -EINVAL;
	s.stride = (size_t)p->width * p->channels * fdx_pnm_sample_bytes(p);
	convert_in(o, planes, &s);
	return 0;
}

/* Y, U, V of pixel (x, y) of a YUV format; the chroma is that of its block or pair. */
static void read_yuv(const struct fdx_object *o, const uint8_t *const *pl, uint32_t x,
		     uint32_t y, uint8_t yuv[3])
{
	const uint8_t *p;

	switch (o->format) {
	case FDX_FORMAT_NV12:
	case FDX_FORMAT_NV21:
		yuv[0] = *plane_rd(pl, o, 0, x, y);
		p = plane_rd(pl, o, 1, x & ~1u, y / 2);
		yuv[1] = p[o->format == FDX_FORMAT_NV21];
		yuv[2] = p[o->format == FDX_FORMAT_NV12];
		break;
	case FDX_FORMAT_I420:
		yuv[0] = *plane_rd(pl, o, 0, x, y);
		yuv[1] = *plane_rd(pl, o, 1, x / 2, y / 2);
		yuv[2] = *plane_rd(pl, o, 2, x / 2, y / 2);
		break;
	case FDX_FORMAT_YUYV:
		p = plane_rd(pl, o, 0, (x & ~1u) * 2, y);
		yuv[0] = p[(x & 1) * 2];
		yuv[1] = p[1];
		yuv[2] = p[3];
		break;
	default: /* UYVY */
		p = plane_rd(pl, o, 0, (x & ~1u) * 2, y);
		yuv[0] = p[1 + (x & 1) * 2];
		yuv[1] = p[0];
		yuv[2] = p[2];
		break;
	}
}

static uint16_t read_u16(const struct fdx_object *o, const uint8_t *const *pl, uint32_t x,
			 uint32_t y)
{
	const uint8_t *p = plane_rd(pl, o, 0, x * 2, y);

	return (uint16_t)(p[0] | p[1] << 8);
}

static void read_rgb(const struct fdx_object *o, const uint8_t *const *pl, uint32_t x,
		     uint32_t y, uint8_t rgb[3])
{
	const uint8_t *p;
	uint8_t yuv[3];

	switch (o->format) {
	case FDX_FORMAT_U8:
		rgb[0] = rgb[1] = rgb[2] = *plane_rd(pl, o, 0, x, y);
		return;
	case FDX_FORMAT_U16:
		rgb[0] = rgb[1] = rgb[2] =
			(uint8_t)scale(read_u16(o, pl, x, y), 65535, 255);
		return;
	case FDX_FORMAT_RGB24:
	case FDX_FORMAT_RGBX:
		p = plane_rd(pl, o, 0, x * (o->format == FDX_FORMAT_RGBX ? 4 : 3), y);
		memcpy(rgb, p, 3);
		return;
	}
	read_yuv(o, pl, x, y, yuv);
	fdx_yuv_to_rgb(yuv[0], yuv[1], yuv[2], &rgb[0], &rgb[1], &rgb[2]);
}

static uint8_t read_gray(const struct fdx_object *o, const uint8_t *const *pl, uint32_t x,
			 uint32_t y)
{
	uint8_t c[3];

	switch (o->format) {
	case FDX_FORMAT_U8:
		return *plane_rd(pl, o, 0, x, y);
	case FDX_FORMAT_U16:
		return (uint8_t)scale(read_u16(o, pl, x, y), 65535, 255);
	case FDX_FORMAT_RGB24:
	case FDX_FORMAT_RGBX:
		read_rgb(o, pl, x, y, c);
		return fdx_rgb_to_gray(c[0], c[1], c[2]);
	}
	/* Y already is the luma; only its 16..235 range needs stretching */
	read_yuv(o, pl, x, y, c);
	return fix_to8((int32_t)INV_Y * ((int32_t)c[0] - 16));
}

int fdx_image_to_rgb24(const struct fdx_object *o, const uint8_t *const *planes,
		       uint8_t *rgb, size_t stride)
{
	int r = check_desc(o, NULL, 0);

	if (r)
		return r;
	if (!stride_ok(stride, o->width, 3))
		return -EINVAL;
	for (uint32_t y = 0; y < o->height; y++)
		for (uint32_t x = 0; x < o->width; x++)
			read_rgb(o, planes, x, y, rgb + (size_t)y * stride + (size_t)x * 3);
	return 0;
}

int fdx_image_to_gray8(const struct fdx_object *o, const uint8_t *const *planes,
		       uint8_t *gray, size_t stride)
{
	int r = check_desc(o, NULL, 0);

	if (r)
		return r;
	if (!stride_ok(stride, o->width, 1))
		return -EINVAL;
	for (uint32_t y = 0; y < o->height; y++)
		for (uint32_t x = 0; x < o->width; x++)
			gray[(size_t)y * stride + x] = read_gray(o, planes, x, y);
	return 0;
}

/* netpbm's whitespace; isspace() would depend on the locale */
static bool pnm_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * Skip whitespace and comments before a header token, which must be preceded by at
 * least one of them. 0, or -EINVAL when there is none or the header ends first.
 */
static int pnm_skip(const uint8_t *p, size_t len, size_t *pos, const char *what, char *why,
		    size_t whycap)
{
	size_t i = *pos;

	while (i < len) {
		if (pnm_space(p[i])) {
			i++;
		} else if (p[i] == '#') {
			while (i < len && p[i] != '\n' && p[i] != '\r')
				i++;
		} else {
			break;
		}
	}
	if (i == len)
		return fail(why, whycap, -EINVAL, "header truncated before %s", what);
	if (i == *pos)
		return fail(why, whycap, -EINVAL, "no whitespace before %s", what);
	*pos = i;
	return 0;
}

/* A header number: decimal digits only (no sign), at most UINT32_MAX. */
static int pnm_uint(const uint8_t *p, size_t len, size_t *pos, const char *what,
		    uint32_t *val, char *why, size_t whycap)
{
	uint64_t v = 0;
	size_t i;
	int r = pnm_skip(p, len, pos, what, why, whycap);

	if (r)
		return r;
	i = *pos;
	if (p[i] < '0' || p[i] > '9')
		return fail(why, whycap, -EINVAL,
			    "%s: expected a decimal number, got byte 0x%02x", what, p[i]);
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		v = v * 10 + (p[i] - '0');
		if (v > UINT32_MAX)
			return fail(why, whycap, -EOVERFLOW, "%s too large", what);
	}
	if (i == len)
		return fail(why, whycap, -EINVAL, "header truncated after %s", what);
	*pos = i;
	*val = (uint32_t)v;
	return 0;
}

/* Samples above maxval would scale past the top; only odd maxvals can have them. */
static int pnm_check_samples(const struct fdx_pnm *p, char *why, size_t whycap)
{
	bool wide = fdx_pnm_sample_bytes(p) == 2;
	size_t n = p->size / (wide ? 2 : 1);

	if (p->maxval == 255 || p->maxval == 65535)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v = wide ? (unsigned)p->data[2 * i] << 8 | p->data[2 * i + 1]
				  : p->data[i];

		if (v > p->maxval)
			return fail(why, whycap, -EINVAL,
				    "sample %u > maxval %u at pixel %zu of row %zu", v,
				    p->maxval, i / p->channels % p->width,
				    i / p->channels / p->width);
	}
	return 0;
}

int fdx_pnm_parse(const void *buf, size_t len, struct fdx_pnm *out, char *why,
		  size_t whycap)
{
	const uint8_t *p = buf;
	struct fdx_pnm n = { 0 };
	uint32_t maxval;
	uint64_t bytes;
	size_t pos = 2;
	int r;

	if (len < 2 || p[0] != 'P')
		return fail(why, whycap, -EINVAL, "not a PNM image (no P5 or P6 magic)");
	if (p[1] == '5')
		n.channels = 1;
	else if (p[1] == '6')
		n.channels = 3;
	else if (p[1] >= '1' && p[1] <= '7')
		return fail(why, whycap, -EINVAL,
			    "P%c images are not supported, only P5 and P6", p[1]);
	else
		return fail(why, whycap, -EINVAL, "not a PNM image (no P5 or P6 magic)");

	r = pnm_uint(p, len, &pos, "width", &n.width, why, whycap);
	if (!r)
		r = pnm_uint(p, len, &pos, "height", &n.height, why, whycap);
	if (!r)
		r = pnm_uint(p, len, &pos, "maxval", &maxval, why, whycap);
	if (r)
		return r;
	if (!n.width || !n.height)
		return fail(why, whycap, -EINVAL, "size %" PRIu32 "x%" PRIu32 " is empty",
			    n.width, n.height);
	if (maxval < 1 || maxval > 65535)
		return fail(why, whycap, -EINVAL, "maxval %" PRIu32 " not in 1..65535",
			    maxval);
	n.maxval = maxval;
	/* exactly one: a second whitespace byte would already be pixel data */
	if (!pnm_space(p[pos]))
		return fail(why, whycap, -EINVAL,
			    "maxval must be followed by one whitespace byte, got 0x%02x",
			    p[pos]);
	pos++;

	r = pnm_raster_bytes(&n, &bytes);
	if (r)
		return fail(why, whycap, r, "%" PRIu32 "x%" PRIu32 " image too large",
			    n.width, n.height);
	if (bytes > FDX_PNM_MAX_BYTES)
		return fail(why, whycap, -EOVERFLOW,
			    "%" PRIu32 "x%" PRIu32 " image has %" PRIu64
			    " bytes of pixels, more than %llu",
			    n.width, n.height, bytes, FDX_PNM_MAX_BYTES);
	if (len - pos < bytes)
		return fail(why, whycap, -EINVAL,
			    "truncated: %zu of %" PRIu64 " pixel bytes", len - pos, bytes);
	n.data = p + pos;
	n.size = (size_t)bytes;
	n.header_size = pos;
	r = pnm_check_samples(&n, why, whycap);
	if (r)
		return r;
	*out = n;
	return 0;
}

/* Capture errno at once after a stream error; a stream need not set it. */
static int stream_err(void)
{
	return errno ? -errno : -EIO;
}

static int pnm_header(FILE *f, unsigned channels, uint32_t w, uint32_t h, unsigned maxval)
{
	errno = 0;
	if (fprintf(f, "P%c\n%" PRIu32 " %" PRIu32 "\n%u\n", channels == 1 ? '5' : '6', w,
		    h, maxval) < 0)
		return stream_err();
	return 0;
}

int fdx_pnm_write(FILE *f, const struct fdx_pnm *p)
{
	uint64_t bytes;
	int r = pnm_raster_bytes(p, &bytes);

	if (r)
		return r;
	if (p->size < bytes)
		return -EINVAL;
	r = pnm_header(f, p->channels, p->width, p->height, p->maxval);
	if (r)
		return r;
	errno = 0;
	if (fwrite(p->data, 1, (size_t)bytes, f) != bytes)
		return stream_err();
	return 0;
}

int fdx_pnm_write_image(FILE *f, const struct fdx_object *o, const uint8_t *const *planes)
{
	unsigned channels = 3, maxval = 255, bpp = 3;
	uint8_t *row = NULL;
	uint64_t row_bytes;
	int r = check_desc(o, NULL, 0);

	if (r)
		return r;
	if (o->format == FDX_FORMAT_U8) {
		channels = 1;
		bpp = 1;
	} else if (o->format == FDX_FORMAT_U16) {
		channels = 1;
		maxval = 65535;
		bpp = 2;
	}
	row_bytes = (uint64_t)o->width * bpp;
	if (row_bytes > SIZE_MAX)
		return -ENOMEM;
	row = malloc((size_t)row_bytes);
	if (!row)
		return -ENOMEM;
	r = pnm_header(f, channels, o->width, o->height, maxval);
	if (r)
		goto out;
	for (uint32_t y = 0; y < o->height; y++) {
		for (uint32_t x = 0; x < o->width; x++) {
			uint16_t v;

			switch (o->format) {
			case FDX_FORMAT_U8:
				row[x] = *plane_rd(planes, o, 0, x, y);
				break;
			case FDX_FORMAT_U16:
				/* the plane is little-endian, PNM big-endian */
				v = read_u16(o, planes, x, y);
				row[2 * x] = (uint8_t)(v >> 8);
				row[2 * x + 1] = (uint8_t)v;
				break;
			default:
				read_rgb(o, planes, x, y, row + (size_t)x * 3);
				break;
			}
		}
		errno = 0;
		if (fwrite(row, 1, (size_t)row_bytes, f) != row_bytes) {
			r = stream_err();
			goto out;
		}
	}
out:
	free(row);
	return r;
}
