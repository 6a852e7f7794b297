/* produce.c - the producer's side of a session, shared by serve and send-image */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fdx.h"
#include "produce.h"

static void tally(struct produce_report *rep, const struct fdx_object_ack *ack)
{
	switch (ack->verdict) {
	case FDX_VERDICT_OK:
		rep->ok++;
		break;
	case FDX_VERDICT_MISMATCH:
		rep->mismatch++;
		break;
	default:
		rep->unchecked++;
		break;
	}
	if (rep->acks) {
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "index", json_object_new_int64(ack->index));
		json_object_object_add(
			a, "verdict",
			json_object_new_string(fdx_verdict_name(ack->verdict)));
		json_object_object_add(
			a, "first_mismatch",
			ack->first_mismatch == FDX_NO_OFFSET
				? NULL
				: json_object_new_uint64(ack->first_mismatch));
		json_object_object_add(a, "mismatched_bytes",
				       json_object_new_uint64(ack->mismatched_bytes));
		json_object_array_add(rep->acks, a);
	}
}

/* Give up on the session for a reason of ours, and tell the consumer. */
static int give_up(struct fdx_session *s, int err, const char *why)
{
	fdx_session_fail(s, err, "%s", why);
	fdx_session_send_error(s, (uint32_t)cli_exit_for(err), why);
	return err;
}

static int offer_one(struct fdx_session *s, uint64_t i, bool last, produce_make_fn make,
		     void *ctx, struct fdx_held *h, struct produce_report *rep)
{
	struct fdx_object_ack ack;
	int fds[FDX_MAX_PLANES];
	unsigned nfds;
	char why[256];
	int r;

	r = make(ctx, i, h, why, sizeof(why));
	if (r < 0)
		return give_up(s, r, why);
	r = fdx_held_seal(h);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot seal buffer %" PRIu64 ": %s", i,
			 strerror(-r));
		return give_up(s, r, why);
	}
	nfds = fdx_held_fds(h, fds);
	r = fdx_session_send_object(s, &h->obj, fds, nfds, last);
	if (r < 0) {
		/* refused before sending (no STREAM capability, say): tell the consumer */
		fdx_session_send_error(s, (uint32_t)cli_exit_for(r), fdx_session_error(s));
		return r;
	}
	r = fdx_session_recv_ack(s, &ack);
	if (r < 0)
		return r;
	rep->objects++;
	rep->bytes += h->obj.size;
	tally(rep, &ack);
	if (rep->on_ack)
		rep->on_ack(rep->on_ack_ctx, h, &ack);
	return 0;
}

int produce_objects(struct fdx_session *s, uint64_t count, produce_make_fn make, void *ctx,
		    struct fdx_held *objs, struct produce_report *rep)
{
	double t0 = cli_now();
	int r = 0;

	for (uint64_t i = 0; i < count; i++)
		fdx_held_init(&objs[i]);
	for (uint64_t i = 0; i < count && r == 0; i++)
		r = offer_one(s, i, i + 1 == count, make, ctx, &objs[i], rep);
	rep->seconds = cli_now() - t0;
	return r;
}

int produce_finish(struct fdx_session *s, struct produce_report *rep)
{
	struct fdx_bye bye = { 0 }, peer_bye;
	int r = fdx_session_recv_bye(s, &peer_bye);

	bye.objects = rep->objects;
	bye.bytes = rep->bytes;
	bye.mismatches = rep->mismatch;
	if (r >= 0)
		r = fdx_session_send_bye(s, &bye);
	return r;
}

int produce_exit(const struct produce_report *rep, int err)
{
	if (err < 0)
		return cli_exit_for(err);
	return rep->mismatch || rep->stream.mismatch ? FDX_EXIT_MISMATCH : FDX_EXIT_OK;
}

void produce_json(const struct produce_report *rep, struct json_object *o)
{
	json_object_object_add(o, "objects", json_object_new_uint64(rep->objects));
	json_object_object_add(o, "bytes", json_object_new_uint64(rep->bytes));
	json_object_object_add(o, "seconds", json_object_new_double(rep->seconds));
	json_object_object_add(o, "ok", json_object_new_uint64(rep->ok));
	json_object_object_add(o, "mismatch", json_object_new_uint64(rep->mismatch));
	json_object_object_add(o, "unchecked", json_object_new_uint64(rep->unchecked));
	json_object_object_add(o, "acks", json_object_get(rep->acks));
	json_object_object_add(o, "stream",
			       rep->streamed ? stream_json(&rep->stream, true) : NULL);
}

const char *produce_counts(const struct produce_report *rep, char *buf, size_t cap)
{
	char counts[96];

	cli_verdict_counts(counts, sizeof(counts), rep->ok, rep->mismatch, rep->unchecked);
	snprintf(buf, cap, "%" PRIu64 " objects, %" PRIu64 " bytes in %.1f ms: %s",
		 rep->objects, rep->bytes, rep->seconds * 1e3, counts);
	return buf;
}
