/* cmd-connect.c - `fdx connect`: consumer and client; maps received buffers, verifies them
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "channel.h"
#include "cli.h"
#include "fdx.h"
#include "object.h"
#include "session.h"
#include "stream.h"

#define FD_RESERVE  32u
#define MAX_OBJECTS 65536u

struct connect_opts {
	double wait;
	int verify;
};

struct totals {
	uint64_t objects, bytes, ok, mismatch, unchecked;
	double verify_seconds;
	uint64_t verify_bytes;
};

/* Retry while the server is not there yet, so `fdx serve & fdx connect` cannot race. */
static int connect_wait(const char *path, double wait, int *fd)
{
	double deadline = cli_now() + wait;
	int r;

	for (;;) {
		r = fdx_channel_connect(path, fd);
		if (r != -ENOENT && r != -ECONNREFUSED)
			return r;
		if (cli_now() >= deadline)
			return r;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	}
}

static struct json_object *diagnosis_json(const struct fdx_diagnosis *d)
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

static struct json_object *object_json(const struct received *h, unsigned verdict,
				       const struct fdx_verify_result *vr,
				       const struct fdx_diagnosis *diag)
{
	struct json_object *o = json_object_new_object();
	struct json_object *seals = json_object_new_array();
	char buf[64], *save = NULL;

	fdx_seals_str(h->bufs[0].seals, buf, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, "none") != 0)
			json_object_array_add(seals, json_object_new_string(t));
	json_object_object_add(o, "index", json_object_new_int64(h->obj.index));
	json_object_object_add(o, "size", json_object_new_uint64(h->obj.size));
	json_object_object_add(o, "backend",
			       json_object_new_string(fdx_backend_name(h->obj.backend)));
	json_object_object_add(o, "seals", seals);
	json_object_object_add(o, "seed", json_object_new_uint64(h->obj.seed));
	json_object_object_add(o, "frame", json_object_new_uint64(h->obj.frame));
	json_object_object_add(o, "verdict",
			       json_object_new_string(fdx_verdict_name(verdict)));
	json_object_object_add(o, "first_mismatch",
			       vr->first_mismatch == FDX_NO_OFFSET
				       ? NULL
				       : json_object_new_uint64(vr->first_mismatch));
	json_object_object_add(o, "mismatched_bytes",
			       json_object_new_uint64(vr->mismatched_bytes));
	json_object_object_add(o, "diagnosis", diagnosis_json(diag));
	return o;
}

/* Check (with --verify), report and acknowledge one imported object. */
static int judge(struct fdx_session *s, const struct connect_opts *o, struct received *h,
		 struct totals *t, struct json_object *objects)
{
	struct fdx_verify_result vr = { .first_mismatch = FDX_NO_OFFSET };
	struct fdx_diagnosis diag = { .kind = FDX_DIAG_NONE };
	struct fdx_object_ack ack;
	unsigned verdict = FDX_VERDICT_UNCHECKED;
	char seals[64];

	/* a copy buffer holds nothing until the stream sends its first frame */
	if (o->verify && h->obj.backend != FDX_BACKEND_COPY) {
		double t0 = cli_now();

		verdict = fdx_object_verify(&h->obj, h->bufs, &vr);
		t->verify_seconds += cli_now() - t0;
		if (verdict != FDX_VERDICT_UNCHECKED)
			t->verify_bytes += h->obj.size;
	}
	t->objects++;
	t->bytes += h->obj.size;
	if (verdict == FDX_VERDICT_OK)
		t->ok++;
	else if (verdict == FDX_VERDICT_MISMATCH)
		t->mismatch++;
	else
		t->unchecked++;

	fdx_seals_str(h->bufs[0].seals, seals, sizeof(seals));
	if (verdict == FDX_VERDICT_MISMATCH) {
		char why[160];

		/* only now, off the fast path: which frame, if any, is in there instead */
		fdx_object_diagnose(&h->obj, h->bufs, FDX_DIAG_WINDOW, &diag);
		fdx_diagnosis_describe(&diag, why, sizeof(why));
		cli_info("object %" PRIu32 ": %" PRIu64
			 " bytes, %s, seals %s: MISMATCH at offset %" PRIu64 ", %" PRIu64
			 " byte%s differ%s (%s)",
			 h->obj.index, h->obj.size, fdx_backend_name(h->obj.backend), seals,
			 vr.first_mismatch, vr.mismatched_bytes,
			 vr.mismatched_bytes == 1 ? "" : "s",
			 vr.mismatched_bytes == 1 ? "s" : "", fdx_diag_name(diag.kind));
		cli_err("buffer %" PRIu32 " differs from the pattern at offset %" PRIu64
			" (%" PRIu64 " byte%s); %s",
			h->obj.index, vr.first_mismatch, vr.mismatched_bytes,
			vr.mismatched_bytes == 1 ? "" : "s", why);
	} else {
		cli_info("object %" PRIu32 ": %" PRIu64 " bytes, %s, seals %s: %s",
			 h->obj.index, h->obj.size, fdx_backend_name(h->obj.backend), seals,
			 fdx_verdict_name(verdict));
	}
	if (objects)
		json_object_array_add(objects, object_json(h, verdict, &vr, &diag));

	ack.index = h->obj.index;
	ack.verdict = verdict;
	ack.first_mismatch = vr.first_mismatch;
	ack.mismatched_bytes = vr.mismatched_bytes;
	return fdx_session_send_ack(s, &ack);
}

static int receive_all(struct fdx_session *s, const struct connect_opts *o,
		       struct received **held, size_t *nheld, struct totals *t,
		       struct json_object *objects)
{
	size_t cap = 0;
	bool last = false;
	int r;

	while (!last) {
		int fds[FDX_MAX_PLANES];
		unsigned nfds = 0;
		struct received *h;
		char why[256];

		if (*nheld == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct received *n = realloc(*held, ncap * sizeof(**held));

			if (!n)
				return fdx_session_fail(s, -ENOMEM,
							"out of memory after %zu objects",
							*nheld);
			*held = n;
			cap = ncap;
		}
		h = &(*held)[*nheld];
		r = fdx_session_recv_object(s, &h->obj, fds, &nfds, &last);
		if (r < 0)
			return r;
		r = fdx_object_import(&h->obj, fds, nfds, h->bufs, why, sizeof(why));
		if (r < 0) {
			int code = cli_exit_for(r);

			fdx_session_fail(s, r, "%s", why);
			fdx_session_send_error(s, (uint32_t)code, why);
			return r;
		}
		(*nheld)++;
		r = judge(s, o, h, t, objects);
		if (r < 0)
			return r;
	}
	return 0;
}

static struct json_object *totals_json(const struct totals *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "objects", json_object_new_uint64(t->objects));
	json_object_object_add(o, "bytes", json_object_new_uint64(t->bytes));
	json_object_object_add(o, "ok", json_object_new_uint64(t->ok));
	json_object_object_add(o, "mismatch", json_object_new_uint64(t->mismatch));
	json_object_object_add(o, "unchecked", json_object_new_uint64(t->unchecked));
	json_object_object_add(o, "verify_seconds",
			       json_object_new_double(t->verify_seconds));
	json_object_object_add(
		o, "verify_bytes_per_second",
		json_object_new_double(t->verify_seconds > 0
					       ? (double)t->verify_bytes / t->verify_seconds
					       : 0));
	return o;
}

static void print_totals(const struct totals *t, bool verify)
{
	char speed[64] = "";

	if (verify && t->verify_seconds > 0 && t->verify_bytes)
		snprintf(speed, sizeof(speed), "; verified at %.1f GB/s",
			 (double)t->verify_bytes / t->verify_seconds / 1e9);
	cli_info("total: %" PRIu64 " objects, %" PRIu64 " bytes: %" PRIu64 " ok, %" PRIu64
		 " mismatch, %" PRIu64 " unchecked%s",
		 t->objects, t->bytes, t->ok, t->mismatch, t->unchecked, speed);
}

static int consume(const char *path, const struct connect_opts *o, struct json_object *doc)
{
	uint64_t nofile = cli_raise_nofile();
	struct fdx_hello hello = {
		.role = FDX_ROLE_CONSUMER,
		.caps = FDX_CAP_PATTERN | FDX_CAP_STREAM | FDX_CAP_COPY,
		.pid = (uint32_t)getpid(),
		.max_fds = FDX_MAX_PLANES,
		/* every object stays open and mapped until BYE: what the fd limit allows */
		.max_objects = (uint32_t)(nofile > FD_RESERVE + MAX_OBJECTS ? MAX_OBJECTS
					  : nofile > FD_RESERVE + 1 ? nofile - FD_RESERVE
								    : 1),
		.max_size = 0,
		.name = "fdx-connect",
	};
	struct json_object *objects = doc ? json_object_new_array() : NULL;
	struct fdx_bye bye = { 0 }, peer_bye;
	struct fdx_session s;
	struct received *held = NULL;
	struct stream_report srep;
	bool streamed = false;
	struct totals t = { 0 };
	size_t nheld = 0;
	int fd = -1, rc, r;

	r = connect_wait(path, o->wait, &fd);
	if (r < 0) {
		char msg[512];

		if (r == -ENOENT || r == -ECONNREFUSED)
			snprintf(msg, sizeof(msg),
				 "cannot connect to '%s': %s (waited %g s)", path,
				 strerror(-r), o->wait);
		else
			snprintf(msg, sizeof(msg), "cannot connect to '%s': %s", path,
				 r == -ENAMETOOLONG ? "path too long for a UNIX socket"
						    : strerror(-r));
		cli_err("%s", msg);
		rc = r == -ENOENT || r == -ECONNREFUSED ? FDX_EXIT_TIMEOUT
		     : r == -ENAMETOOLONG		? FDX_EXIT_USAGE
							: FDX_EXIT_SYSTEM;
		if (doc) {
			json_object_object_add(doc, "error", json_object_new_string(msg));
			json_object_object_add(doc, "objects", objects);
			json_object_object_add(doc, "total", totals_json(&t));
		}
		return rc;
	}
	fdx_session_init(&s, fd, false, &hello);
	s.trace = cli_trace;
	r = fdx_session_handshake(&s);
	if (r < 0)
		goto fail;
	cli_info("connected to %s: server pid %" PRIu32 " (%s), protocol %u.%u", path,
		 s.peer.pid, s.peer.name, s.peer_major, s.peer_minor);
	if (doc) {
		struct json_object *srv = json_object_new_object();
		char proto[16];

		snprintf(proto, sizeof(proto), "%u.%u", s.peer_major, s.peer_minor);
		json_object_object_add(srv, "pid", json_object_new_int64(s.peer.pid));
		json_object_object_add(srv, "name", json_object_new_string(s.peer.name));
		json_object_object_add(srv, "protocol", json_object_new_string(proto));
		json_object_object_add(doc, "server", srv);
	}
	r = receive_all(&s, o, &held, &nheld, &t, objects);
	if (r < 0)
		goto fail;
	if (s.stream) {
		/* the objects are the ring of a stream; its BYEs end the session */
		/* a copy stream lands in the buffers we made for its objects */
		for (size_t i = 0; s.copy && i < nheld && r >= 0; i++)
			r = fdx_session_copy_target(&s, (uint32_t)i, held[i].bufs[0].map,
						    held[i].bufs[0].length);
		if (r >= 0)
			r = stream_consume(&s, o->verify, held, (uint32_t)nheld, &srep);
		streamed = true;
		if (r < 0)
			goto fail;
		print_totals(&t, o->verify);
		stream_print(&srep, false);
		rc = t.mismatch || srep.mismatch ? FDX_EXIT_MISMATCH : FDX_EXIT_OK;
		goto out;
	}
	bye.objects = t.objects;
	bye.bytes = t.bytes;
	bye.mismatches = t.mismatch;
	r = fdx_session_send_bye(&s, &bye);
	if (r >= 0)
		r = fdx_session_recv_bye(&s, &peer_bye);
	if (r < 0)
		goto fail;
	print_totals(&t, o->verify);
	rc = t.mismatch ? FDX_EXIT_MISMATCH : FDX_EXIT_OK;
	goto out;
fail:
	cli_err("%s", fdx_session_error(&s));
	rc = cli_exit_for(r);
	if (doc)
		json_object_object_add(doc, "error",
				       json_object_new_string(fdx_session_error(&s)));
out:
	for (size_t i = 0; i < nheld; i++)
		for (unsigned k = 0; k < FDX_MAX_PLANES; k++)
			fdx_buffer_release(&held[i].bufs[k]);
	free(held);
	fdx_session_cleanup(&s);
	close(fd);
	if (doc) {
		json_object_object_add(doc, "objects", objects);
		json_object_object_add(doc, "total", totals_json(&t));
		json_object_object_add(doc, "stream",
				       streamed ? stream_json(&srep, false) : NULL);
	}
	return rc;
}

static int connect_main(int argc, const char **argv)
{
	struct connect_opts o = { .wait = 5 };
	const char *wait_s = NULL;
	struct poptOption options[] = {
		{ "wait", 'w', POPT_ARG_STRING, &wait_s, 0,
		  "wait up to SECONDS for the server to appear (default 5, 0 = try once)",
		  "SECONDS" },
		{ "verify", '\0', POPT_ARG_NONE, &o.verify, 0,
		  "check every byte of every buffer against the pattern", NULL },
		CLI_COMMON_TABLE,
		CLI_HELP_TABLE,
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext(argv[0], argc, argv, options, 0);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct json_object *doc = NULL;
	int rc, r;

	rc = cli_parse(pc, "[OPTIONS]");
	if (rc >= 0)
		goto out;
	rc = FDX_EXIT_USAGE;
	if (wait_s && cli_parse_seconds("--wait", wait_s, &o.wait) < 0)
		goto out;
	r = cli_socket_path(path, sizeof(path), false);
	if (r < 0) {
		rc = r == -ENAMETOOLONG || r == -EINVAL ? FDX_EXIT_USAGE : FDX_EXIT_SYSTEM;
		goto out;
	}
	if (cli.json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "socket", json_object_new_string(path));
		json_object_object_add(doc, "verify", json_object_new_boolean(o.verify));
		json_object_object_add(doc, "error", NULL);
	}
	rc = consume(path, &o, doc);
	if (doc)
		cli_print_json(doc, rc);
out:
	free((char *)wait_s); /* popt hands string arguments over to us */
	poptFreeContext(pc);
	return rc;
}

const struct fdx_cmd fdx_cmd_connect = {
	.name = "connect",
	.run = connect_main,
	.summary = "consumer: connect, map the buffers received, verify them with --verify",
};
