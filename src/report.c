/* report.c - how objects, verdicts and diagnoses are shown: text and JSON, one way for
 * every command */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "image.h"
#include "macro.h"
#include "report.h"

/* Append to buf at *used, never past cap. */
_printf_(4, 5) static void add(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

const char *report_mismatch_detail(const struct fdx_object *o,
				   const struct fdx_object_result *r, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	if (o->content == FDX_CONTENT_CHECKSUM) {
		add(buf, cap, &used,
		    ": checksum xxh3:%016" PRIx64 " of its %s, expected xxh3:%016" PRIx64,
		    r->checksum, o->kind == FDX_KIND_IMAGE ? "pixels" : "bytes",
		    o->checksum);
		return buf;
	}
	add(buf, cap, &used, " (%" PRIu64 " byte%s", r->total.mismatched_bytes,
	    r->total.mismatched_bytes == 1 ? "" : "s");
	if (o->kind == FDX_KIND_IMAGE) {
		for (unsigned i = 0; i < o->nplanes; i++) {
			const struct fdx_plane_result *p = &r->planes[i];

			if (p->first_mismatch == FDX_NO_OFFSET)
				continue;
			add(buf, cap, &used, "; plane %u: %" PRIu64, i,
			    p->pixel_bytes + p->padding_bytes);
			if (p->padding_bytes)
				add(buf, cap, &used, ", %" PRIu64 " in padding",
				    p->padding_bytes);
		}
	}
	add(buf, cap, &used, ")");
	return buf;
}

const char *report_mismatch(const struct fdx_held *h, const struct fdx_object_result *r,
			    const char *what, char *buf, size_t cap,
			    struct fdx_diagnosis *d)
{
	char detail[256], why[160];

	report_mismatch_detail(&h->obj, r, detail, sizeof(detail));
	if (h->obj.content == FDX_CONTENT_CHECKSUM) {
		d->kind = FDX_DIAG_NONE;
		snprintf(buf, cap, "%s differs%s", what, detail);
		return buf;
	}
	/* only now, off the fast path: which frame, if any, is in there instead */
	fdx_held_diagnose(h, FDX_DIAG_WINDOW, d);
	fdx_diagnosis_describe(d, why, sizeof(why));
	snprintf(buf, cap, "%s differs from the pattern at offset %" PRIu64 "%s; %s", what,
		 r->total.first_mismatch, detail, why);
	return buf;
}

struct json_object *report_diagnosis_json(const struct fdx_diagnosis *d)
{
	struct json_object *o;

	if (d->kind == FDX_DIAG_NONE)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(fdx_diag_name(d->kind)));
	json_object_object_add(o, "expected_frame", json_object_new_uint64(d->expected));
	if (d->kind == FDX_DIAG_STALE)
		json_object_object_add(o, "found_frame", json_object_new_uint64(d->found));
	if (d->kind == FDX_DIAG_TORN) {
		json_object_object_add(o, "tear_offset", json_object_new_uint64(d->tear));
		json_object_object_add(o, "head_frame",
				       json_object_new_uint64(d->head_frame));
		json_object_object_add(o, "tail_frame",
				       json_object_new_uint64(d->tail_frame));
	}
	return o;
}

static struct json_object *offset_json(uint64_t off)
{
	return off == FDX_NO_OFFSET ? NULL : json_object_new_uint64(off);
}

static struct json_object *hex64_json(uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "xxh3:%016" PRIx64, v);
	return json_object_new_string(s);
}

static const char *content_name(unsigned content)
{
	switch (content) {
	case FDX_CONTENT_PATTERN:
		return "pattern";
	case FDX_CONTENT_CHECKSUM:
		return "checksum";
	}
	return "none";
}

struct json_object *report_object_json(const struct fdx_held *h,
				       const struct fdx_object_result *r,
				       const struct fdx_diagnosis *d)
{
	const struct fdx_object *ob = &h->obj;
	struct json_object *o = json_object_new_object();
	struct json_object *seals = json_object_new_array();
	struct json_object *planes = json_object_new_array();
	char buf[64], *save = NULL;

	/* the seals every buffer of the object has */
	fdx_seals_str(h->bufs[0].seals, buf, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, "none") != 0)
			json_object_array_add(seals, json_object_new_string(t));
	json_object_object_add(o, "index", json_object_new_int64(ob->index));
	json_object_object_add(
		o, "kind",
		json_object_new_string(ob->kind == FDX_KIND_IMAGE ? "image" : "raw"));
	json_object_object_add(o, "format",
			       json_object_new_string(fdx_format_name(ob->format)));
	json_object_object_add(o, "width", json_object_new_int64(ob->width));
	json_object_object_add(o, "height", json_object_new_int64(ob->height));
	json_object_object_add(o, "size", json_object_new_uint64(ob->size));
	json_object_object_add(o, "backend",
			       json_object_new_string(fdx_backend_name(ob->backend)));
	json_object_object_add(o, "fds", json_object_new_int64(h->nbufs));
	/* what the fds turned out to be, and whether they were read under a SIGBUS guard */
	json_object_object_add(o, "fd_kind",
			       json_object_new_string(fdx_buf_kind_name(fdx_held_kind(h))));
	json_object_object_add(o, "sigbus_guard",
			       json_object_new_boolean(fdx_held_may_shrink(h)));
	json_object_object_add(o, "seals", seals);
	json_object_object_add(o, "content",
			       json_object_new_string(content_name(ob->content)));
	json_object_object_add(o, "seed", json_object_new_uint64(ob->seed));
	json_object_object_add(o, "frame", json_object_new_uint64(ob->frame));
	json_object_object_add(
		o, "checksum",
		ob->content == FDX_CONTENT_CHECKSUM ? hex64_json(ob->checksum) : NULL);
	for (unsigned i = 0; i < ob->nplanes; i++) {
		const struct fdx_plane *pl = &ob->planes[i];
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "fd", json_object_new_int64(pl->fd_index));
		json_object_object_add(p, "offset", json_object_new_uint64(pl->offset));
		json_object_object_add(p, "stride", json_object_new_int64(pl->stride));
		json_object_object_add(p, "width", json_object_new_int64(pl->width));
		json_object_object_add(p, "height", json_object_new_int64(pl->height));
		json_object_object_add(p, "size", json_object_new_uint64(pl->size));
		json_object_object_add(p, "first_mismatch",
				       offset_json(r->planes[i].first_mismatch));
		json_object_object_add(p, "pixel_mismatched_bytes",
				       json_object_new_uint64(r->planes[i].pixel_bytes));
		json_object_object_add(p, "padding_mismatched_bytes",
				       json_object_new_uint64(r->planes[i].padding_bytes));
		json_object_array_add(planes, p);
	}
	json_object_object_add(o, "planes", planes);
	json_object_object_add(o, "verdict",
			       json_object_new_string(fdx_verdict_name(r->verdict)));
	json_object_object_add(o, "first_mismatch", offset_json(r->total.first_mismatch));
	json_object_object_add(o, "mismatched_bytes",
			       json_object_new_uint64(r->total.mismatched_bytes));
	json_object_object_add(o, "computed_checksum",
			       ob->content == FDX_CONTENT_CHECKSUM &&
					       r->verdict != FDX_VERDICT_UNCHECKED
				       ? hex64_json(r->checksum)
				       : NULL);
	json_object_object_add(o, "diagnosis", report_diagnosis_json(d));
	return o;
}

const char *report_object_summary(const struct fdx_object *o, char *buf, size_t cap)
{
	char shape[48];

	if (o->kind == FDX_KIND_IMAGE)
		snprintf(buf, cap, "%s, %" PRIu64 " bytes, %s",
			 fdx_object_shape(o, shape, sizeof(shape)), o->size,
			 fdx_backend_name(o->backend));
	else
		snprintf(buf, cap, "%" PRIu64 " bytes, %s", o->size,
			 fdx_backend_name(o->backend));
	return buf;
}

/* What kind of buffer h's fds are, when that is not plain memfd: " (tmpfs file, ...)". */
static void add_kind_note(const struct fdx_held *h, char *buf, size_t cap, size_t *used)
{
	unsigned kind = fdx_held_kind(h);

	switch (kind) {
	case FDX_BUF_KIND_MEMFD_HUGE:
		add(buf, cap, used, " (memfd on hugetlbfs, %" PRIu64 " kB pages)",
		    h->bufs[0].page / 1024);
		return;
	case FDX_BUF_KIND_TMPFS:
	case FDX_BUF_KIND_FILE:
		if (fdx_held_may_shrink(h))
			add(buf, cap, used,
			    " (%s, no shrink seal: read under a SIGBUS guard)",
			    fdx_buf_kind_name(kind));
		else
			add(buf, cap, used, " (%s)", fdx_buf_kind_name(kind));
		return;
	case FDX_BUF_KIND_DMABUF:
		add(buf, cap, used, " (dma-buf, cannot shrink)");
		return;
	}
}

const char *report_seals(const struct fdx_held *h, char *buf, size_t cap)
{
	size_t used = 0;

	bool same = true;

	buf[0] = '\0';
	for (unsigned i = 1; i < h->nbufs; i++)
		same &= h->bufs[i].seals == h->bufs[0].seals;
	/* one list when every fd has the same seals, as fdx's own objects do */
	for (unsigned i = 0; i < (same ? 1 : h->nbufs) || i == 0; i++) {
		char one[64];

		add(buf, cap, &used, "%s%s", i ? "/" : "",
		    fdx_seals_str(h->bufs[i].seals, one, sizeof(one)));
	}
	add_kind_note(h, buf, cap, &used);
	return buf;
}
