/* consume.h - the consumer's side of a session, shared by connect and serve --receive */
#ifndef FDX_CONSUME_H
#define FDX_CONSUME_H

#include <stdbool.h>
#include <stdint.h>

#include "dump.h"
#include "object.h"
#include "session.h"
#include "stream.h"

struct json_object;

struct consume_report {
	uint64_t objects, bytes, ok, mismatch, unchecked;
	double verify_seconds;
	uint64_t verify_bytes;
	bool streamed;
	struct stream_report stream;
	struct json_object *objects_json; /* one entry per object; NULL without --json */
};

/*
 * The HELLO of a consumer named name: every capability fdx has, and as many objects as
 * the fd limit allows (each stays open and mapped until the session ends).
 */
struct fdx_hello consume_hello(const char *name);

/*
 * After the handshake: receive the objects, validate and map each, verify it (verify),
 * dump it (dump, may be NULL), acknowledge it; follow the stream that may come after
 * them; exchange the BYEs. Each object's line goes to stdout (cli_info), mismatches to
 * stderr. Returns 0 or -errno; fdx_session_error() says why.
 */
int consume_session(struct fdx_session *s, bool verify, struct dump_plan *dump,
		    const struct consumer_aids *aids, struct consume_report *rep);

/*
 * Reading object h failed with err (from busguard_verify and co.): fail the session,
 * tell the peer, return the error. -EFAULT becomes -EPROTO, "buffer N truncated by peer
 * while it was read": the peer's doing.
 */
int consume_read_failed(struct fdx_session *s, const struct fdx_held *h, int err);

/* Exit status of a finished session: 0, FDX_EXIT_MISMATCH or what the error maps to. */
int consume_exit(const struct consume_report *rep, int err);

/* "total: 4 objects, ..." and the stream's line. */
void consume_print(const struct consume_report *rep, bool verify);

/* The report as JSON members of doc: objects, total, stream. */
void consume_json(const struct consume_report *rep, struct json_object *doc);

#endif
