/* imageopts.c - the image options of serve and send-image: --format, --width, --height,
 * --align, --fd-per-plane, and the object layouts they give */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "image.h"
#include "imageopts.h"

const char *imageopts_format_names(char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < fdx_format_count() && used < cap; i++) {
		const struct fdx_format_desc *d = fdx_format_at(i);
		int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", d->name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

static int parse_formats(struct imageopts *io, const char *list)
{
	const char *t = list;

	io->nformats = 0;
	/* by hand: strtok would skip an empty entry, which is a typo to point out */
	for (;;) {
		size_t len = strcspn(t, ",");
		char name[32];
		int code;

		if (len == 0) {
			cli_err("--format: %s",
				*list ? "an empty entry in the list" : "no format given");
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(len < 31 ? len : 31), t);
		code = len < 31 && strcasecmp(name, "raw") == 0 ? FDX_FORMAT_RAW
		       : len < 31				? fdx_format_from_name(name)
								: -EINVAL;
		if (code < 0) {
			char names[256];

			cli_err("--format: unknown format '%.*s' (known: raw, %s)",
				(int)len, t, imageopts_format_names(names, sizeof(names)));
			return -EINVAL;
		}
		if (io->nformats == IMAGEOPTS_MAX_FORMATS) {
			cli_err("--format: more than %u formats", IMAGEOPTS_MAX_FORMATS);
			return -EINVAL;
		}
		io->formats[io->nformats++] = (unsigned)code;
		if (!t[len])
			return 0;
		t += len + 1;
	}
}

int imageopts_parse(struct imageopts *io, const struct imageopts_args *a,
		    const char *default_format)
{
	uint64_t v;

	memset(io, 0, sizeof(*io));
	io->width = 1920;
	io->height = 1080;
	io->align = 1;
	io->fd_per_plane = a->fd_per_plane;
	io->given = a->format || a->width || a->height || a->align || a->fd_per_plane;
	io->format_given = a->format;
	if (parse_formats(io, a->format ? a->format : default_format) < 0)
		return -EINVAL;
	if (a->width) {
		if (cli_parse_u64("--width", a->width, 1, UINT32_MAX, false, &v) < 0)
			return -EINVAL;
		io->width = (uint32_t)v;
	}
	if (a->height) {
		if (cli_parse_u64("--height", a->height, 1, UINT32_MAX, false, &v) < 0)
			return -EINVAL;
		io->height = (uint32_t)v;
	}
	if (a->align) {
		if (cli_parse_u64("--align", a->align, 1, FDX_IMAGE_ALIGN_MAX, false, &v) <
		    0)
			return -EINVAL;
		if (v & (v - 1)) {
			cli_err("--align: %" PRIu64 " is not a power of two", v);
			return -EINVAL;
		}
		io->align = (uint32_t)v;
	}
	return 0;
}

int imageopts_layout(const struct imageopts *io, unsigned format, uint32_t width,
		     uint32_t height, uint64_t raw_size, const char *subject,
		     struct fdx_object *o)
{
	const struct fdx_format_desc *d = fdx_format_desc(format);
	const char *sep = subject ? ": " : "";
	int r;

	if (!subject)
		subject = "";
	if (format == FDX_FORMAT_RAW) {
		memset(o, 0, sizeof(*o));
		o->kind = FDX_KIND_RAW;
		o->nplanes = 1;
		o->size = o->planes[0].size = raw_size;
		return 0;
	}
	if (d->even_width && width % 2) {
		cli_err("%s%s%s needs an even width, got %" PRIu32, subject, sep, d->name,
			width);
		return -EINVAL;
	}
	if (d->even_height && height % 2) {
		cli_err("%s%s%s needs an even height, got %" PRIu32, subject, sep, d->name,
			height);
		return -EINVAL;
	}
	r = fdx_image_layout(format, width, height, io->align, io->fd_per_plane, o);
	if (r == -EOVERFLOW) {
		cli_err("%s%sa %" PRIu32 "x%" PRIu32 " %s image is too large", subject, sep,
			width, height, d->name);
		return -EINVAL;
	}
	if (r < 0) {
		cli_err("%s%scannot lay out a %" PRIu32 "x%" PRIu32 " %s image: %s",
			subject, sep, width, height, d->name, strerror(-r));
		return -EINVAL;
	}
	return 0;
}

bool imageopts_help(const struct imageopts_args *a, bool with_raw)
{
	if (!a->format || strcmp(a->format, "help") != 0)
		return false;
	for (unsigned i = 0; i < fdx_format_count(); i++) {
		const struct fdx_format_desc *d = fdx_format_at(i);

		printf("%-6s %-7s %s\n", d->name, d->alias ? d->alias : "", d->summary);
	}
	if (with_raw)
		printf("%-6s %-7s %s\n", "raw", "", "bytes without a layout");
	return true;
}

void imageopts_free(struct imageopts_args *a)
{
	free((char *)a->format);
	free((char *)a->width);
	free((char *)a->height);
	free((char *)a->align);
}
