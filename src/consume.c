/* consume.c - the consumer's side of a session, shared by connect and serve --receive */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "busguard.h"
#include "cli.h"
#include "consume.h"
#include "fdx.h"
#include "report.h"

#define FD_RESERVE  32u
#define MAX_OBJECTS 65536u

struct fdx_hello consume_hello(const char *name)
{
	uint64_t nofile = cli_raise_nofile();
	/* each object may bring FDX_MAX_PLANES fds, but a set of one-fd objects is usual */
	uint64_t room = nofile > FD_RESERVE + 1 ? nofile - FD_RESERVE : 1;
	struct fdx_hello h = {
		.role = FDX_ROLE_CONSUMER,
		.caps = FDX_CAP_PATTERN | FDX_CAP_CHECKSUM | FDX_CAP_STREAM | FDX_CAP_COPY,
		.pid = (uint32_t)getpid(),
		.max_fds = FDX_MAX_PLANES,
		.max_objects = (uint32_t)(room < MAX_OBJECTS ? room : MAX_OBJECTS),
		.max_size = 0,
	};

	snprintf(h.name, sizeof(h.name), "%s", name);
	return h;
}

static void tally(struct consume_report *rep, unsigned verdict)
{
	if (verdict == FDX_VERDICT_OK)
		rep->ok++;
	else if (verdict == FDX_VERDICT_MISMATCH)
		rep->mismatch++;
	else
		rep->unchecked++;
}

/* A read of an object that failed: the peer truncated it (a SIGBUS under the guard), or
 * a DMA-BUF would not sync. The session ends; the peer is told why. */
int consume_read_failed(struct fdx_session *s, const struct fdx_held *h, int err)
{
	if (err == -EFAULT) {
		fdx_session_fail(s, -EPROTO,
				 "buffer %" PRIu32 " truncated by peer while it was read",
				 h->obj.index);
		fdx_session_send_error(s, FDX_EXIT_PEER, fdx_session_error(s));
		return -EPROTO;
	}
	fdx_session_fail(s, err, "cannot read buffer %" PRIu32 " (DMA_BUF_IOCTL_SYNC): %s",
			 h->obj.index, strerror(-err));
	fdx_session_send_error(s, (uint32_t)cli_exit_for(err), fdx_session_error(s));
	return err;
}

/* Check (with verify), show, dump and acknowledge one imported object. */
static int judge(struct fdx_session *s, bool verify, struct dump_plan *dump,
		 struct fdx_held *h, struct consume_report *rep)
{
	struct fdx_object_result res = { .verdict = FDX_VERDICT_UNCHECKED };
	struct fdx_diagnosis diag = { .kind = FDX_DIAG_NONE };
	struct fdx_object_ack ack;
	char summary[128], seals[160];
	int r;

	res.total.first_mismatch = FDX_NO_OFFSET;
	for (unsigned i = 0; i < FDX_MAX_PLANES; i++)
		res.planes[i].first_mismatch = FDX_NO_OFFSET;
	/* a copy buffer holds nothing until the stream sends its first frame */
	if (verify && h->obj.backend != FDX_BACKEND_COPY) {
		double t0 = cli_now();

		/* under a SIGBUS guard when the peer can shrink it */
		r = busguard_verify(NULL, h, &res);
		if (r < 0)
			return consume_read_failed(s, h, r);
		rep->verify_seconds += cli_now() - t0;
		if (res.verdict != FDX_VERDICT_UNCHECKED)
			rep->verify_bytes += h->obj.size;
	}
	rep->objects++;
	rep->bytes += h->obj.size;
	tally(rep, res.verdict);

	report_object_summary(&h->obj, summary, sizeof(summary));
	report_seals(h, seals, sizeof(seals));
	if (res.verdict == FDX_VERDICT_MISMATCH) {
		char what[32], msg[512];

		snprintf(what, sizeof(what), "buffer %" PRIu32, h->obj.index);
		r = busguard_explain(NULL, h, &res, what, msg, sizeof(msg), &diag);
		if (r < 0)
			return consume_read_failed(s, h, r);
		if (h->obj.content == FDX_CONTENT_CHECKSUM)
			cli_info("object %" PRIu32 ": %s, seals %s: MISMATCH, the checksum "
				 "differs",
				 h->obj.index, summary, seals);
		else
			cli_info("object %" PRIu32
				 ": %s, seals %s: MISMATCH at offset %" PRIu64 ", %" PRIu64
				 " byte%s differ%s (%s)",
				 h->obj.index, summary, seals, res.total.first_mismatch,
				 res.total.mismatched_bytes,
				 res.total.mismatched_bytes == 1 ? "" : "s",
				 res.total.mismatched_bytes == 1 ? "s" : "",
				 fdx_diag_name(diag.kind));
		cli_err("%s", msg);
	} else {
		cli_info("object %" PRIu32 ": %s, seals %s: %s", h->obj.index, summary,
			 seals, fdx_verdict_name(res.verdict));
	}
	if (rep->objects_json)
		json_object_array_add(rep->objects_json,
				      report_object_json(h, &res, &diag));
	if (dump && h->obj.backend != FDX_BACKEND_COPY) {
		r = busguard_dump(NULL, dump, h, false);
		if (r < 0)
			return consume_read_failed(s, h, r);
	}

	ack.index = h->obj.index;
	ack.verdict = res.verdict;
	/* a checksum that differs has no offset: the ACK says so with neither field */
	ack.first_mismatch = res.total.first_mismatch;
	ack.mismatched_bytes = res.total.mismatched_bytes;
	return fdx_session_send_ack(s, &ack);
}

/* Receive the whole set into *held (grown as objects come); every one stays mapped. */
static int receive_all(struct fdx_session *s, bool verify, struct dump_plan *dump,
		       struct fdx_held **held, size_t *nheld, struct consume_report *rep)
{
	size_t cap = 0;
	bool last = false;
	int r;

	while (!last) {
		int fds[FDX_MAX_PLANES];
		unsigned nfds = 0;
		struct fdx_object obj;
		struct fdx_held *h;
		char why[256];

		if (*nheld == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct fdx_held *n = realloc(*held, ncap * sizeof(**held));

			if (!n)
				return fdx_session_fail(s, -ENOMEM,
							"out of memory after %zu objects",
							*nheld);
			*held = n;
			cap = ncap;
		}
		h = &(*held)[*nheld];
		r = fdx_session_recv_object(s, &obj, fds, &nfds, &last);
		if (r < 0)
			return r;
		/* shm and tmpfile cannot be sealed: taken because we read them guarded */
		r = fdx_held_import(h, &obj, fds, nfds, FDX_BUF_POPULATE | FDX_BUF_GUARDED,
				    why, sizeof(why));
		if (r < 0) {
			fdx_session_fail(s, r, "%s", why);
			fdx_session_send_error(s, (uint32_t)cli_exit_for(r), why);
			return r;
		}
		(*nheld)++;
		r = judge(s, verify, dump, h, rep);
		if (r < 0)
			return r;
	}
	return 0;
}

int consume_session(struct fdx_session *s, bool verify, struct dump_plan *dump,
		    const struct consumer_aids *aids, struct consume_report *rep)
{
	struct fdx_bye bye = { 0 }, peer_bye;
	struct fdx_held *held = NULL;
	size_t nheld = 0;
	int r;

	r = receive_all(s, verify, dump, &held, &nheld, rep);
	if (r < 0)
		goto out;
	if (s->stream) {
		/* the objects are the ring of a stream; its BYEs end the session */
		/* a copy stream lands in the memory we made for its objects */
		for (size_t i = 0; s->copy && i < nheld && r >= 0; i++)
			r = fdx_session_copy_target(s, (uint32_t)i, held[i].bufs[0].map,
						    held[i].bufs[0].length);
		if (r >= 0) {
			rep->streamed = true;
			r = stream_consume(s, verify, dump, aids, held, (uint32_t)nheld,
					   &rep->stream);
		}
		goto out;
	}
	bye.objects = rep->objects;
	bye.bytes = rep->bytes;
	bye.mismatches = rep->mismatch;
	r = fdx_session_send_bye(s, &bye);
	if (r >= 0)
		r = fdx_session_recv_bye(s, &peer_bye);
out:
	for (size_t i = 0; i < nheld; i++)
		fdx_held_release(&held[i]);
	free(held);
	return r;
}

int consume_exit(const struct consume_report *rep, int err)
{
	if (err < 0)
		return cli_exit_for(err);
	return rep->mismatch || rep->stream.mismatch ? FDX_EXIT_MISMATCH : FDX_EXIT_OK;
}

void consume_print(const struct consume_report *rep, bool verify)
{
	char speed[64] = "";

	if (verify && rep->verify_seconds > 0 && rep->verify_bytes)
		snprintf(speed, sizeof(speed), "; verified at %.1f GB/s",
			 (double)rep->verify_bytes / rep->verify_seconds / 1e9);
	cli_info("total: %" PRIu64 " objects, %" PRIu64 " bytes: %" PRIu64 " ok, %" PRIu64
		 " mismatch, %" PRIu64 " unchecked%s",
		 rep->objects, rep->bytes, rep->ok, rep->mismatch, rep->unchecked, speed);
	if (rep->streamed)
		stream_print(&rep->stream, false);
}

void consume_json(const struct consume_report *rep, struct json_object *doc)
{
	struct json_object *t = json_object_new_object();

	json_object_object_add(t, "objects", json_object_new_uint64(rep->objects));
	json_object_object_add(t, "bytes", json_object_new_uint64(rep->bytes));
	json_object_object_add(t, "ok", json_object_new_uint64(rep->ok));
	json_object_object_add(t, "mismatch", json_object_new_uint64(rep->mismatch));
	json_object_object_add(t, "unchecked", json_object_new_uint64(rep->unchecked));
	json_object_object_add(t, "verify_seconds",
			       json_object_new_double(rep->verify_seconds));
	json_object_object_add(t, "verify_bytes_per_second",
			       json_object_new_double(rep->verify_seconds > 0
							      ? (double)rep->verify_bytes /
									rep->verify_seconds
							      : 0));
	json_object_object_add(doc, "objects", json_object_get(rep->objects_json));
	json_object_object_add(doc, "total", t);
	json_object_object_add(doc, "stream",
			       rep->streamed ? stream_json(&rep->stream, false) : NULL);
}
