/* image.h - pixel formats, plane layout and checks, BT.601 colour, PNM read/write */
#ifndef FDX_IMAGE_H
#define FDX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h"

/*
 * Pixel format codes: the u32 format field of an image OBJECT. The numbers are part of
 * the protocol (fdx-protocol(7)); never renumber, only append. 0 is a raw object.
 */
enum fdx_format {
	FDX_FORMAT_RAW = 0,
	FDX_FORMAT_U8 = 1,    /* gray, 1 byte per pixel */
	FDX_FORMAT_U16 = 2,   /* gray, 2 bytes per pixel, little-endian */
	FDX_FORMAT_RGB24 = 3, /* R, G, B bytes */
	FDX_FORMAT_RGBX = 4,  /* R, G, B, X bytes; X is 255 when fdx writes it */
	FDX_FORMAT_NV12 = 5,  /* 4:2:0: Y plane, then a plane of interleaved U, V */
	FDX_FORMAT_NV21 = 6,  /* 4:2:0: Y plane, then a plane of interleaved V, U */
	FDX_FORMAT_YUYV = 7,  /* 4:2:2 packed: Y0 U Y1 V */
	FDX_FORMAT_UYVY = 8,  /* 4:2:2 packed: U Y0 V Y1 */
	FDX_FORMAT_I420 = 9,  /* 4:2:0: Y, U and V planes */
};
#define FDX_FORMAT_MAX FDX_FORMAT_I420

/*
 * What a format is made of. A "pixel of a plane" is one sample position of that plane:
 * an NV12 UV plane has width/2 pixels per row of 2 bytes each (U and V); a YUYV plane has
 * width pixels of 2 bytes (a Y and half of a shared U/V pair).
 */
struct fdx_format_desc {
	unsigned code;		       /* enum fdx_format */
	const char *name;	       /* canonical, lowercase */
	const char *alias;	       /* a second accepted name, or NULL */
	const char *summary;	       /* a few words for --help */
	unsigned nplanes;	       /* 1 .. FDX_MAX_PLANES */
	unsigned bpp[FDX_MAX_PLANES];  /* bytes per pixel of each plane */
	unsigned hsub[FDX_MAX_PLANES]; /* plane width = image width / hsub */
	unsigned vsub[FDX_MAX_PLANES]; /* plane rows = image height / vsub */
	bool even_width;	       /* width must be even (chroma of pixel pairs) */
	bool even_height;	       /* height must be even (chroma of row pairs) */
};

/* The description of a format, or NULL for raw and unknown codes. */
const struct fdx_format_desc *fdx_format_desc(unsigned format);

/* Formats in code order for --help and completion: i in 0 .. fdx_format_count()-1. */
unsigned fdx_format_count(void);
const struct fdx_format_desc *fdx_format_at(unsigned i);

/* Code of a name or alias, matched case-insensitively; -EINVAL when none matches. */
int fdx_format_from_name(const char *name);

/* Canonical name; "raw" for 0, "unknown" for a code no format has. */
const char *fdx_format_name(unsigned format);

/* Largest align fdx_image_layout() accepts: one page, beyond that it only wastes. */
#define FDX_IMAGE_ALIGN_MAX 4096u

/*
 * Lay out a width x height image of format in o, which is cleared first (the caller then
 * sets index, backend and content). Each plane's stride is its row bytes rounded up to
 * align (0 or 1: tight; otherwise a power of two up to FDX_IMAGE_ALIGN_MAX) and its size
 * is stride x rows, the last row included whole. By default the planes follow each other
 * in fd 0, each at an offset aligned to align; with fd_per_plane plane i is at offset 0
 * of fd i. o->size is the sum of the plane sizes.
 * Returns 0; -EINVAL for an unknown format, a zero dimension, an odd one the format
 * forbids, or a bad align; -EOVERFLOW when a stride does not fit in 32 bits or a size in
 * an off_t. o is left untouched on failure.
 */
int fdx_image_layout(unsigned format, uint32_t width, uint32_t height, uint32_t align,
		     bool fd_per_plane, struct fdx_object *o);

/*
 * Bytes each fd of o must hold: sizes[i] is the end of the last plane in fd i, *nfds one
 * more than the highest fd_index. Works for raw objects too. -EINVAL for an fd_index or
 * nplanes beyond FDX_MAX_PLANES, -EOVERFLOW when an offset + size wraps.
 */
int fdx_image_fd_sizes(const struct fdx_object *o, uint64_t sizes[FDX_MAX_PLANES],
		       unsigned *nfds);

/*
 * Validate a received image object against the real sizes of its fds (fd_sizes[i] for fd
 * i, nfds of them), before anything is mapped. The first rule broken is written to why
 * (may be NULL) in words that name the plane and the numbers, e.g.
 * "plane 1: stride 960 < 1920 row bytes". Rules are tried in a fixed order: the
 * description against itself and its format first, then against the fds. Returns:
 *   0           every plane lies inside its fd and matches the format
 *   -EINVAL     the description is wrong: not an image, unknown format, illegal
 *               dimensions, plane count or plane geometry not what the format derives,
 *               stride shorter than a row, size zero or short of its rows, planes
 *               overlapping in one fd, object size not the sum of the planes
 *   -EOVERFLOW  an offset + size or the sum of the sizes does not fit in 64 bits
 *   -ERANGE     the description asks for more than was received: an fd_index beyond
 *               nfds, or a plane that ends past its fd's size
 */
int fdx_image_check(const struct fdx_object *o, const uint64_t *fd_sizes, unsigned nfds,
		    char *why, size_t whycap);

/*
 * Pixel bytes of one row of a plane (plane width x bytes per pixel); the rest of the
 * stride is padding. 0 for an unknown format or a plane the format does not have.
 */
uint64_t fdx_image_row_bytes(const struct fdx_object *o, unsigned plane);

/* True when byte off of a plane (from the plane's start) is pixel data, not padding. */
bool fdx_image_is_pixel(const struct fdx_object *o, unsigned plane, uint64_t off);

/*
 * BT.601 limited range ("studio swing": Y 16..235, U and V 16..240 around 128), integer
 * arithmetic with rounding; the reverse clamps to 0..255.
 */
void fdx_rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b, uint8_t *y, uint8_t *u, uint8_t *v);
void fdx_yuv_to_rgb(uint8_t y, uint8_t u, uint8_t v, uint8_t *r, uint8_t *g, uint8_t *b);

/* Full-range luma Y' = 0.299 R + 0.587 G + 0.114 B, rounded: RGB to gray. */
uint8_t fdx_rgb_to_gray(uint8_t r, uint8_t g, uint8_t b);

/*
 * A PNM image: P5 (gray) or P6 (RGB), samples of 1 byte when maxval < 256, else 2
 * bytes big-endian, rows packed without padding.
 */
struct fdx_pnm {
	unsigned channels;   /* 1: P5 gray, 3: P6 RGB */
	uint32_t width;	     /* >= 1 */
	uint32_t height;     /* >= 1 */
	unsigned maxval;     /* 1 .. 65535 */
	const uint8_t *data; /* the raster */
	size_t size;	     /* bytes of the raster: width x height x channels x sample */
	size_t header_size;  /* fdx_pnm_parse: bytes before the raster */
};

/* Largest raster fdx_pnm_parse() accepts. */
#define FDX_PNM_MAX_BYTES (1ull << 31)

static inline unsigned fdx_pnm_sample_bytes(const struct fdx_pnm *p)
{
	return p->maxval > 255 ? 2 : 1;
}

/*
 * Parse a binary PNM (P5 or P6) from len bytes at buf. out->data points into buf (no
 * copy, nothing to free): it is valid as long as buf is. Bytes after the raster are left
 * alone (the next image of a multi-image file starts at header_size + size). The
 * header follows netpbm: tokens separated by whitespace (space, \t, \n, \v, \f, \r) and
 * comments from '#' to the end of the line, exactly one whitespace byte after maxval.
 * Returns 0; -EINVAL with the reason in why (may be NULL) for anything malformed,
 * unsupported (P1-P4, P7), truncated, or a sample above maxval; -EOVERFLOW for a number
 * that does not fit or a raster over FDX_PNM_MAX_BYTES. out is only written on success.
 */
int fdx_pnm_parse(const void *buf, size_t len, struct fdx_pnm *out, char *why,
		  size_t whycap);

/*
 * Write p (header, then p->size bytes of raster) to f. The raster must be in file
 * order (16-bit samples big-endian). For a caller's buffer, hand it fmemopen(). Returns
 * 0; -EINVAL for a p that is not a valid P5/P6 image or whose size is short; -errno
 * (-EIO when the stream does not say) on a write error.
 */
int fdx_pnm_write(FILE *f, const struct fdx_pnm *p);

/*
 * Converters between laid-out images and packed pictures in memory. o is a layout as
 * fdx_image_layout() makes it (checked again here: -EINVAL, -EOVERFLOW as
 * fdx_image_check()); planes[i] points at the first byte of plane i, wherever its fd is
 * mapped, so planes sharing an fd and planes in fds of their own work alike. A source or
 * destination stride is the bytes from one row to the next (at least a packed row, else
 * -EINVAL).
 *
 * Into an image: RGB is converted per pixel to BT.601 limited range; 4:2:0 formats take
 * the chroma of each 2x2 block averaged, 4:2:2 of each horizontal pair; RGBX gets X=255;
 * U8 takes gray as is, or the luma of RGB; U16 scales 8-bit gray by 257.
 */
int fdx_image_from_rgb24(const struct fdx_object *o, uint8_t *const *planes,
			 const uint8_t *rgb, size_t stride);
int fdx_image_from_gray8(const struct fdx_object *o, uint8_t *const *planes,
			 const uint8_t *gray, size_t stride);

/*
 * From a parsed PNM of the same width and height (-EINVAL otherwise), any maxval: samples
 * are scaled to 8 bits, except a P5 into U16, which keeps 16 bits (scaled to 65535).
 */
int fdx_image_from_pnm(const struct fdx_object *o, uint8_t *const *planes,
		       const struct fdx_pnm *p);

/*
 * Out of an image, for dumps: any format to RGB24 (gray replicated, U16 rounded to 8
 * bits, chroma of a shared block repeated for each of its pixels), or to 8-bit gray (U8
 * as is, U16 rounded, YUV formats their Y expanded to full range, RGB formats their
 * luma).
 */
int fdx_image_to_rgb24(const struct fdx_object *o, const uint8_t *const *planes,
		       uint8_t *rgb, size_t stride);
int fdx_image_to_gray8(const struct fdx_object *o, const uint8_t *const *planes,
		       uint8_t *gray, size_t stride);

/*
 * Dump an image to f as PNM: U8 as an 8-bit P5, U16 as a 16-bit P5 (maxval 65535, so
 * nothing is lost), every other format as an 8-bit P6. Converts a row at a time (one
 * row of memory, -ENOMEM if even that fails). Errors as the converters and
 * fdx_pnm_write().
 */
int fdx_pnm_write_image(FILE *f, const struct fdx_object *o, const uint8_t *const *planes);

#endif
