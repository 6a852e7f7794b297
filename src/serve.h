/* serve.h - what fdx serve's two ways of serving share: options, reports, objects */
#ifndef FDX_SERVE_H
#define FDX_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "consume.h"
#include "dump.h"
#include "imageopts.h"
#include "object.h"
#include "produce.h"
#include "session.h"

struct json_object;

struct serve_opts {
	uint64_t count;
	uint64_t size; /* raw objects */
	uint64_t seed;
	uint64_t clients;
	struct imageopts img;
	struct fdx_object layouts[IMAGEOPTS_MAX_FORMATS]; /* one per --format entry */
	unsigned inject; /* enum inject_kind: a testing aid that damages buffer 0 */
	uint64_t flip_offset;
	uint64_t frames; /* --frames: stream this many through the ring */
	double duration; /* --duration: or stream for this long */
	int no_fill;	 /* --no-fill: stream without writing the buffers */
	int copy;	 /* --copy: frames through the socket, the baseline of zero-copy */
	int receive;	 /* --receive: a consumer of what clients send */
	int concurrent;	 /* --concurrent: every client at once, one shared ring */
	uint64_t max_held;     /* --concurrent streams: buffers one client may hold */
	int verify;	       /* --receive --verify */
	struct dump_plan dump; /* --receive --dump: what every client's plan starts from */
	struct fdx_backend_spec backend; /* --backend, --dir: what the buffers are */
};

struct client_report {
	unsigned client;
	pid_t pid;
	char name[FDX_NAME_MAX];
	int exit;
	char error[256]; /* why the session failed, empty if it did not */
	struct produce_report prod;
	struct consume_report cons; /* --receive */
	struct dump_plan dump;
};

/* The objects of a client (or, for --concurrent, of everyone: client 0). */
struct serve_make_ctx {
	const struct serve_opts *o;
	unsigned client;
};

/* A produce_make_fn: object i allocated, named, filled with frame i (damaged on request).
 */
int serve_make_object(void *ctx, uint64_t i, struct fdx_held *h, char *err, size_t errcap);

/* Refuse a client whose limits the objects do not fit (the session says why). */
int serve_check_client(struct fdx_session *s, const struct serve_opts *o);

bool serve_streaming(const struct serve_opts *o);

/* A client's line (and stream line), or its JSON object in clients. */
void serve_report_client(const struct client_report *rep, bool receive,
			 struct json_object *clients);

/*
 * --concurrent: serve every client at once from one event loop over the listening
 * socket lfd; reports go to clients (JSON) or stdout. Returns the exit status.
 */
int fanout_serve(int lfd, const struct serve_opts *o, struct json_object *clients);

#endif
