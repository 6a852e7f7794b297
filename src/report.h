/* report.h - how objects, verdicts and diagnoses are shown: text and JSON, one way for
 * every command */
#ifndef FDX_REPORT_H
#define FDX_REPORT_H

#include <stddef.h>

#include "object.h"

struct json_object;

/*
 * Where and how an object is wrong, for the end of a message: " (3 bytes)" for a raw
 * object, " (3 bytes; plane 1: 3, 1 in padding)" for an image (the planes with wrong bytes,
 * and how many of those are row padding), or for a checksum
 * ": checksum xxh3:... of its pixels, expected xxh3:...".
 */
const char *report_mismatch_detail(const struct fdx_object *o,
				   const struct fdx_object_result *r, char *buf,
				   size_t cap);

/*
 * The whole complaint about a mismatching object (or frame, when frame_word is
 * "frame N in buffer"), diagnosis included: "buffer 0 differs from the pattern at
 * offset 100 (1 byte); corrupt: no frame near 0 holds these bytes". Diagnoses the
 * object itself (off the fast path).
 */
const char *report_mismatch(const struct fdx_held *h, const struct fdx_object_result *r,
			    const char *what, char *buf, size_t cap,
			    struct fdx_diagnosis *d);

/* The JSON of an object: layout, seals, content, verdict, per-plane result, diagnosis. */
struct json_object *report_object_json(const struct fdx_held *h,
				       const struct fdx_object_result *r,
				       const struct fdx_diagnosis *d);

struct json_object *report_diagnosis_json(const struct fdx_diagnosis *d);

/* "1920x1080 nv12, 3110400 bytes, memfd" or "3110400 bytes, memfd" */
const char *report_object_summary(const struct fdx_object *o, char *buf, size_t cap);

/*
 * The seals of an object's buffers: "shrink,grow,seal", or per fd joined by '/' when
 * its fds differ; then what the fds are when they are not memfds: " (tmpfs file, no
 * shrink seal: read under a SIGBUS guard)", " (dma-buf, cannot shrink)".
 */
const char *report_seals(const struct fdx_held *h, char *buf, size_t cap);

#endif
