/* backendopts.h - the buffer options of serve and send-image: --backend and --dir, checked
 * and tried on this machine before anything is sent */
#ifndef FDX_BACKENDOPTS_H
#define FDX_BACKENDOPTS_H

#include <popt.h>
#include <stddef.h>

#include "backend.h"
#include "codec.h"

struct json_object;

/* The option strings as popt leaves them (ours to free: backendopts_free). */
struct backendopts_args {
	const char *backend, *dir;
};

#define BACKENDOPTS_TABLE(a)                                                               \
	{ "backend",                                                                       \
	  '\0',                                                                            \
	  POPT_ARG_STRING,                                                                 \
	  &(a).backend,                                                                    \
	  0,                                                                               \
	  "what the buffers are: memfd, memfd-huge, shm, tmpfile, dma-heap[:NAME], "       \
	  "udmabuf (default memfd)",                                                       \
	  "KIND" },                                                                        \
	{                                                                                  \
		"dir", '\0', POPT_ARG_STRING, &(a).dir, 0,                                 \
			"--backend tmpfile: make the files in DIR (default /dev/shm, or "  \
			"/tmp when /dev/shm refuses)",                                     \
			"DIR"                                                              \
	}

/*
 * Check --backend and --dir into spec (memfd when --backend was not given). Prints what
 * is wrong; returns 0 or -EINVAL.
 */
int backendopts_parse(struct fdx_backend_spec *spec, const struct backendopts_args *a);

/*
 * Try the backend on this machine (fdx_backend_probe): -1 to go on, or FDX_EXIT_SYSTEM
 * after "--backend dma-heap: /dev/dma_heap/system: No such file or directory (...)".
 */
int backendopts_probe(struct fdx_backend_spec *spec, const struct backendopts_args *a);

/*
 * "memfd", "tmpfile in /dev/shm", "dma-heap /dev/dma_heap/system", "memfd-huge, 2048 kB
 * pages", and with the layout of the objects (NULL: they differ) what the rounding to
 * huge pages makes of them: "...: each object of 3110400 bytes takes 4194304".
 */
const char *backendopts_describe(const struct fdx_backend_spec *spec,
				 const struct fdx_object *layout, char *buf, size_t cap);

/* {name, dir, heap, page_size} */
struct json_object *backendopts_json(const struct fdx_backend_spec *spec);

void backendopts_free(struct backendopts_args *a);

#endif
