/* dump.c - received objects written to files people can open: PNM for images, the raw
 * bytes otherwise */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dump.h"
#include "image.h"

static const char *extension(const struct fdx_object *o)
{
	if (o->kind != FDX_KIND_IMAGE)
		return "bin";
	return o->format == FDX_FORMAT_U8 || o->format == FDX_FORMAT_U16 ? "pgm" : "ppm";
}

static int write_raw(FILE *f, const struct fdx_held *h)
{
	for (unsigned i = 0; i < h->obj.nplanes; i++) {
		const uint8_t *p = fdx_held_plane(h, i);
		size_t len = (size_t)h->obj.planes[i].size;

		if (!p)
			return -EINVAL;
		errno = 0;
		if (fwrite(p, 1, len, f) != len)
			return errno ? -errno : -EIO;
	}
	return 0;
}

int dump_held(const char *dir, const char *stem, const struct fdx_held *h, char *path,
	      size_t pathcap)
{
	const uint8_t *planes[FDX_MAX_PLANES] = { NULL };
	FILE *f;
	int n, fd, r;

	n = snprintf(path, pathcap, "%s/%s.%s", dir, stem, extension(&h->obj));
	if (n < 0 || (size_t)n >= pathcap)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	if (h->obj.kind == FDX_KIND_IMAGE) {
		for (unsigned i = 0; i < h->obj.nplanes; i++)
			planes[i] = fdx_held_plane(h, i);
		r = fdx_pnm_write_image(f, &h->obj, planes);
	} else {
		r = write_raw(f, h);
	}
	/* a full disk often shows only when the last buffer is flushed */
	errno = 0;
	if (fclose(f) != 0 && r == 0)
		r = errno ? -errno : -EIO;
	if (r < 0)
		unlink(path); /* a half-written picture would pass for a wrong one */
	return r;
}

int dump_prepare_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (access(dir, W_OK | X_OK) < 0)
		return -errno;
	return 0;
}

static void dump_as(struct dump_plan *d, const struct fdx_held *h, const char *stem)
{
	char path[4096];
	int r = dump_held(d->dir, stem, h, path, sizeof(path));

	if (r == 0) {
		d->written++;
		return;
	}
	/* the first failures say why; a full disk would say the same thing a 1000 times */
	if (d->failed++ < 3)
		cli_err("cannot dump %s to '%s': %s", stem, path, strerror(-r));
	else if (d->failed == 4)
		cli_err("further dumps that fail are counted, not shown");
}

void dump_object(struct dump_plan *d, const struct fdx_held *h)
{
	char stem[64];

	if (!d->dir)
		return;
	snprintf(stem, sizeof(stem), "%sobject-%04" PRIu32, d->prefix ? d->prefix : "",
		 h->obj.index);
	dump_as(d, h, stem);
}

void dump_frame(struct dump_plan *d, const struct fdx_held *h)
{
	char stem[64];

	if (!d->dir || d->seen++ % (d->every ? d->every : 1) != 0)
		return;
	snprintf(stem, sizeof(stem), "%sframe-%08" PRIu64, d->prefix ? d->prefix : "",
		 h->obj.frame);
	dump_as(d, h, stem);
}

bool dump_frame_due(const struct dump_plan *d)
{
	return d->dir && d->seen % (d->every ? d->every : 1) == 0;
}
