/* produce.h - the producer's side of a session, shared by serve and send-image */
#ifndef FDX_PRODUCE_H
#define FDX_PRODUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "object.h"
#include "session.h"
#include "stream.h"

struct json_object;

struct produce_report {
	uint64_t objects, bytes, ok, mismatch, unchecked;
	double seconds;		  /* making and sending the objects, acks included */
	struct json_object *acks; /* one entry per OBJECT_ACK; NULL without --json */
	bool streamed;
	struct stream_report stream;
	/* called for every ACK received, when set: a command's line per object */
	void (*on_ack)(void *ctx, const struct fdx_held *h,
		       const struct fdx_object_ack *ack);
	void *on_ack_ctx;
};

/*
 * Make object i into h: allocated, described and filled, not yet sealed. On failure
 * return -errno with the reason in err; the peer is told it.
 */
typedef int (*produce_make_fn)(void *ctx, uint64_t i, struct fdx_held *h, char *err,
			       size_t errcap);

/*
 * After the handshake: for i in 0..count-1 make object i into objs[i] (room for count,
 * each initialised or not), seal it, send it with its fds (the last flagged) and wait
 * for its ACK. The objects stay in objs (a stream reuses them); the caller releases
 * them. Returns 0 or -errno; fdx_session_error() says why, and the peer was told.
 */
int produce_objects(struct fdx_session *s, uint64_t count, produce_make_fn make, void *ctx,
		    struct fdx_held *objs, struct produce_report *rep);

/* The BYEs of a session without a stream: the consumer's first, then ours. */
int produce_finish(struct fdx_session *s, struct produce_report *rep);

/* Exit status of a finished session: 0, FDX_EXIT_MISMATCH or what the error maps to. */
int produce_exit(const struct produce_report *rep, int err);

/* The report as JSON members of o: objects, bytes, seconds, ok, ..., acks, stream. */
void produce_json(const struct produce_report *rep, struct json_object *o);

/* "3 ok, 1 mismatch" with the time it took; used by the commands' client lines. */
const char *produce_counts(const struct produce_report *rep, char *buf, size_t cap);

#endif
