/* backendopts.c - the buffer options of serve and send-image: --backend and --dir, checked
 * and tried on this machine before anything is sent */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "backendopts.h"
#include "cli.h"
#include "fdx.h"
#include "image.h"

int backendopts_parse(struct fdx_backend_spec *spec, const struct backendopts_args *a)
{
	if (fdx_backend_parse(a->backend ? a->backend : "memfd", spec) < 0) {
		cli_err("--backend: unknown backend '%s' (known: %s)", a->backend,
			fdx_backend_list());
		return -EINVAL;
	}
	if (a->dir && spec->backend != FDX_BACKEND_TMPFILE) {
		cli_err("--dir is where --backend tmpfile makes its files; the backend is %s",
			fdx_backend_name(spec->backend));
		return -EINVAL;
	}
	if (a->dir && !a->dir[0]) {
		cli_err("--dir: an empty directory name");
		return -EINVAL;
	}
	spec->dir = a->dir;
	return 0;
}

int backendopts_probe(struct fdx_backend_spec *spec, const struct backendopts_args *a)
{
	char why[400];
	int r = fdx_backend_probe(spec, why, sizeof(why));

	if (r == 0)
		return -1;
	/* the machine lacks it: never a silent fallback to another backend */
	cli_err("--backend %s: %s", a->backend ? a->backend : "memfd", why);
	return FDX_EXIT_SYSTEM;
}

/* What an object of layout o really takes: every fd rounded up to whole pages. */
static uint64_t rounded_size(const struct fdx_backend_spec *spec,
			     const struct fdx_object *o)
{
	uint64_t sizes[FDX_MAX_PLANES], total = 0, r;
	unsigned n;

	if (fdx_image_fd_sizes(o, sizes, &n) < 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (fdx_backend_round(spec, sizes[i], &r) < 0 ||
		    fdx_add_overflow(total, r, &total))
			return 0;
	}
	return total;
}

const char *backendopts_describe(const struct fdx_backend_spec *spec,
				 const struct fdx_object *layout, char *buf, size_t cap)
{
	uint64_t takes;

	switch (spec->backend) {
	case FDX_BACKEND_TMPFILE:
		snprintf(buf, cap, "tmpfile in %s", spec->dir ? spec->dir : "/dev/shm");
		break;
	case FDX_BACKEND_MEMFD_HUGE:
		/* say what the rounding to huge pages costs, when one layout tells */
		takes = layout ? rounded_size(spec, layout) : 0;
		if (layout && takes > layout->size)
			snprintf(buf, cap,
				 "memfd-huge, %" PRIu64 " kB pages: each object of %" PRIu64
				 " bytes takes %" PRIu64,
				 spec->page / 1024, layout->size, takes);
		else
			snprintf(buf, cap, "memfd-huge, %" PRIu64 " kB pages",
				 spec->page / 1024);
		break;
	case FDX_BACKEND_DMA_HEAP:
		snprintf(buf, cap, "dma-heap %s/%s", FDX_DMA_HEAP_DIR,
			 spec->heap ? spec->heap : FDX_DMA_HEAP_NAME);
		break;
	default:
		snprintf(buf, cap, "%s", fdx_backend_name(spec->backend));
		break;
	}
	return buf;
}

struct json_object *backendopts_json(const struct fdx_backend_spec *spec)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name",
			       json_object_new_string(fdx_backend_name(spec->backend)));
	json_object_object_add(o, "dir",
			       spec->backend == FDX_BACKEND_TMPFILE && spec->dir
				       ? json_object_new_string(spec->dir)
				       : NULL);
	json_object_object_add(o, "heap",
			       spec->backend == FDX_BACKEND_DMA_HEAP
				       ? json_object_new_string(spec->heap
									? spec->heap
									: FDX_DMA_HEAP_NAME)
				       : NULL);
	json_object_object_add(
		o, "sealed", json_object_new_boolean(fdx_backend_sealable(spec->backend)));
	json_object_object_add(o, "page_size", json_object_new_uint64(spec->page));
	return o;
}

void backendopts_free(struct backendopts_args *a)
{
	free((char *)a->backend);
	free((char *)a->dir);
	a->backend = a->dir = NULL;
}
