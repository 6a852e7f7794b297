/* imageopts.h - the image options of serve and send-image: --format, --width, --height,
 * --align, --fd-per-plane, and the object layouts they give */
#ifndef FDX_IMAGEOPTS_H
#define FDX_IMAGEOPTS_H

#include <popt.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

#define IMAGEOPTS_MAX_FORMATS 32u

/* The option strings as popt leaves them (ours to free: imageopts_free). */
struct imageopts_args {
	const char *format, *width, *height, *align;
	int fd_per_plane;
};

struct imageopts {
	unsigned formats[IMAGEOPTS_MAX_FORMATS]; /* FDX_FORMAT_RAW (0) for raw objects */
	unsigned nformats;
	uint32_t width, height, align;
	bool fd_per_plane;
	bool given;	   /* any image option was given */
	bool format_given; /* --format itself */
};

#define IMAGEOPTS_TABLE(a, format_help)                                                    \
	{ "format", '\0', POPT_ARG_STRING, &(a).format, 0, format_help, "F[,F...]" },      \
		{ "width",    '\0', POPT_ARG_STRING,                                       \
		  &(a).width, 0,    "image width in pixels (default 1920)",                \
		  "PIXELS" },                                                              \
		{ "height",    '\0', POPT_ARG_STRING,                                      \
		  &(a).height, 0,    "image height in pixels (default 1080)",              \
		  "PIXELS" },                                                              \
		{ "align",                                                                 \
		  '\0',                                                                    \
		  POPT_ARG_STRING,                                                         \
		  &(a).align,                                                              \
		  0,                                                                       \
		  "round each row up to a multiple of BYTES (a power of two up to 4096; "  \
		  "default 1, no padding)",                                                \
		  "BYTES" },                                                               \
	{                                                                                  \
		"fd-per-plane", '\0', POPT_ARG_NONE, &(a).fd_per_plane, 0,                 \
			"give every plane an fd of its own (default: one fd, planes at "   \
			"offsets)",                                                        \
			NULL                                                               \
	}

/*
 * Check the options into io, with default_format (a list, as --format takes) when
 * --format was not given. Prints what is wrong; returns 0 or -EINVAL.
 */
int imageopts_parse(struct imageopts *io, const struct imageopts_args *a,
		    const char *default_format);

/*
 * Lay out a width x height object of format (FDX_FORMAT_RAW: raw_size bytes) with io's
 * alignment and planes, printing what is wrong with the combination ("nv12 needs an even
 * width, got 1919", after "SUBJECT: " when subject is not NULL). 0 or -EINVAL.
 */
int imageopts_layout(const struct imageopts *io, unsigned format, uint32_t width,
		     uint32_t height, uint64_t raw_size, const char *subject,
		     struct fdx_object *o);

/* "u8, gray8, u16, ..." for messages and --help. */
const char *imageopts_format_names(char *buf, size_t cap);

/* --format help: true when a asks for the list, which is then printed on stdout. */
bool imageopts_help(const struct imageopts_args *a, bool with_raw);

void imageopts_free(struct imageopts_args *a);

#endif
