/* cmd-serve.c - `fdx serve`: producer and server; sends sealed, pattern-filled memfds */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buffer.h"
#include "channel.h"
#include "cli.h"
#include "fdx.h"
#include "object.h"
#include "provenance.h"
#include "session.h"
#include "stream.h"

#define DEFAULT_SIZE 3110400u /* one 1920x1080 NV12 frame */
#define MAX_COUNT    65536u
#define FD_RESERVE   32u /* fds beyond the buffers: stdio, sockets, popt, libc */

struct serve_opts {
	uint64_t count;
	uint64_t size;
	uint64_t seed;
	uint64_t clients;
	unsigned inject; /* enum inject_kind: a testing aid that damages buffer 0 */
	uint64_t flip_offset;
	uint64_t frames; /* --frames: stream this many through the ring */
	double duration; /* --duration: or stream for this long */
	int no_fill;	 /* --no-fill: stream without writing the buffers */
	int copy;	 /* --copy: frames through the socket, the baseline of zero-copy */
};

struct client_report {
	unsigned client;
	pid_t pid;
	char name[FDX_NAME_MAX];
	uint64_t objects, bytes, ok, mismatch, unchecked;
	double seconds;
	int exit;
	char error[256]; /* why the session failed, empty if it did not */
	bool streamed;
	struct stream_report stream;
	struct json_object *acks;
};

/* What the signal handler needs to remove our socket, and only ours. */
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static dev_t sock_dev;
static ino_t sock_ino;
static volatile sig_atomic_t sock_bound;

static void unlink_our_socket(void)
{
	struct stat st;

	/* someone may have replaced the file since: leave theirs alone */
	if (sock_bound && stat(sock_path, &st) == 0 && st.st_dev == sock_dev &&
	    st.st_ino == sock_ino)
		unlink(sock_path);
	sock_bound = 0;
}

static void on_signal(int sig)
{
	unlink_our_socket(); /* stat and unlink are async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

static int parse_inject(const char *spec, struct serve_opts *o)
{
	if (!strcmp(spec, "stale") || !strcmp(spec, "torn")) {
		o->inject = spec[0] == 's' ? INJECT_STALE : INJECT_TORN;
		return 0;
	}
	if (strncmp(spec, "flip:", 5) != 0) {
		cli_err("--inject: unknown kind '%s' (known: flip:OFFSET, stale, torn)",
			spec);
		return -EINVAL;
	}
	if (cli_parse_u64("--inject flip", spec + 5, 0, UINT64_MAX, false,
			  &o->flip_offset) < 0)
		return -EINVAL;
	if (o->flip_offset >= o->size) {
		cli_err("--inject flip:%" PRIu64
			": offset is beyond the buffer (--size %" PRIu64 ")",
			o->flip_offset, o->size);
		return -EINVAL;
	}
	o->inject = INJECT_FLIP;
	return 0;
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	uint64_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Refuse up front what cannot work, rather than dying half way through a session. */
static int check_resources(const struct serve_opts *o)
{
	uint64_t nofile = cli_raise_nofile();
	uint64_t avail = mem_available();
	uint64_t total;

	if (o->count + FD_RESERVE > nofile) {
		cli_err("--count %" PRIu64 " needs %" PRIu64
			" file descriptors, the limit is %" PRIu64 " (ulimit -n)",
			o->count, o->count + FD_RESERVE, nofile);
		return FDX_EXIT_SYSTEM;
	}
	if (fdx_mul_overflow(o->count, o->size, &total) || (avail && total > avail)) {
		cli_err("%" PRIu64 " buffers of %" PRIu64
			" bytes need more memory than the %" PRIu64 " bytes available",
			o->count, o->size, avail);
		return FDX_EXIT_SYSTEM;
	}
	return -1;
}

static void tally(struct client_report *rep, const struct fdx_object_ack *ack)
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

static bool streaming(const struct serve_opts *o)
{
	return o->frames || o->duration > 0;
}

/* --inject: damage buffer 0 on purpose, so that a consumer has something to find. */
static void inject(const struct serve_opts *o, struct fdx_buffer *b)
{
	struct fdx_pattern other;
	uint64_t half = b->length / 2;

	fdx_pattern_init(&other, o->seed, 1);
	switch (o->inject) {
	case INJECT_FLIP:
		b->map[o->flip_offset] ^= 0xff;
		break;
	case INJECT_STALE:
		fdx_pattern_fill(&other, b->map, b->length, 0);
		break;
	case INJECT_TORN:
		fdx_pattern_fill(&other, b->map + half, b->length - half, half);
		break;
	}
}

/* Make, fill, seal and send buffer i; then wait for its verdict. */
static int offer_one(struct fdx_session *s, const struct serve_opts *o, unsigned client,
		     uint64_t i, struct fdx_buffer *b, struct client_report *rep)
{
	struct fdx_pattern pat;
	struct fdx_object obj;
	struct fdx_object_ack ack;
	char name[FDX_PROVENANCE_MAX];
	int r;

	/* the name tells `fdx stat` and /proc readers who made the buffer and what it is */
	fdx_provenance_format(name, sizeof(name),
			      &(struct fdx_provenance){ .pid = (uint32_t)getpid(),
						 .session = client, .index = i,
						 .plane = -1, .has_seed = true,
						 .seed = o->seed });
	r = fdx_buffer_create(b, name, o->size, FDX_BUF_POPULATE);
	if (r < 0) {
		fdx_session_fail(
			s, r, "cannot allocate buffer %" PRIu64 " (%" PRIu64 " bytes): %s",
			i, o->size, strerror(-r));
		fdx_session_send_error(s, FDX_EXIT_SYSTEM, fdx_session_error(s));
		return FDX_EXIT_SYSTEM;
	}
	fdx_pattern_init(&pat, o->seed, i);
	fdx_pattern_fill(&pat, b->map, b->length, 0);
	/* in a stream the damage goes to the first frame that reuses a buffer instead */
	if (i == 0 && o->inject != INJECT_NONE && !streaming(o))
		inject(o, b);
	r = fdx_buffer_seal(b);
	if (r < 0) {
		fdx_session_fail(s, r, "cannot seal buffer %" PRIu64 ": %s", i,
				 strerror(-r));
		fdx_session_send_error(s, FDX_EXIT_SYSTEM, fdx_session_error(s));
		return FDX_EXIT_SYSTEM;
	}
	fdx_object_raw(&obj, o->size, FDX_BACKEND_MEMFD, o->seed, i);
	if (o->copy) {
		/*
		 * Nothing shared: the consumer makes its own buffer and the frames come as
		 * DATA. The seed stays, for checking them; the object itself holds no
		 * bytes.
		 */
		obj.backend = FDX_BACKEND_COPY;
	}
	r = fdx_session_send_object(s, &obj, &b->fd, o->copy ? 0 : 1, i + 1 == o->count);
	if (r < 0) {
		/* refused before sending (no STREAM capability, say): tell the consumer why
		 */
		fdx_session_send_error(s, (uint32_t)cli_exit_for(r), fdx_session_error(s));
		return cli_exit_for(r);
	}
	r = fdx_session_recv_ack(s, &ack);
	if (r < 0)
		return cli_exit_for(r);
	rep->objects++;
	rep->bytes += o->size;
	tally(rep, &ack);
	return FDX_EXIT_OK;
}

static int serve_client(int conn, unsigned client, const struct serve_opts *o,
			struct client_report *rep)
{
	struct fdx_hello hello = {
		.role = FDX_ROLE_PRODUCER,
		.caps = FDX_CAP_PATTERN | FDX_CAP_STREAM | FDX_CAP_COPY,
		.pid = (uint32_t)getpid(),
		.max_fds = FDX_MAX_PLANES,
		.max_objects = 1, /* a producer takes none; 0 is not a valid limit */
		.name = "fdx-serve",
	};
	struct fdx_buffer *bufs = NULL;
	struct fdx_session s;
	struct fdx_bye bye = { 0 }, peer_bye;
	double t0;
	int rc = FDX_EXIT_OK;
	int r;

	if (fdx_channel_peer_pid(conn, &rep->pid) < 0)
		rep->pid = 0;
	fdx_session_init(&s, conn, true, &hello);
	s.trace = cli_trace;
	s.want_stream = streaming(o);
	r = fdx_session_handshake(&s);
	if (r < 0) {
		rc = cli_exit_for(r);
		goto out;
	}
	snprintf(rep->name, sizeof(rep->name), "%s", s.peer.name);
	if (o->count > s.peer.max_objects)
		fdx_session_fail(&s, -E2BIG,
				 "client accepts at most %" PRIu32 " objects, asked to "
				 "send %" PRIu64,
				 s.peer.max_objects, o->count);
	else if (streaming(o) && !(s.peer.caps & FDX_CAP_STREAM))
		fdx_session_fail(
			&s, -EOPNOTSUPP,
			"consumer '%s' does not take streams (no STREAM capability)",
			s.peer.name);
	else if (s.peer.max_size && o->size > s.peer.max_size)
		fdx_session_fail(&s, -EFBIG,
				 "client accepts objects of at most %" PRIu64 " bytes, "
				 "asked to send %" PRIu64,
				 s.peer.max_size, o->size);
	if (s.state == FDX_SS_FAILED) {
		fdx_session_send_error(&s, FDX_EXIT_PEER, fdx_session_error(&s));
		rc = FDX_EXIT_PEER;
		goto out;
	}
	bufs = calloc(o->count, sizeof(*bufs));
	if (!bufs) {
		fdx_session_fail(&s, -ENOMEM, "out of memory for %" PRIu64 " buffers",
				 o->count);
		fdx_session_send_error(&s, FDX_EXIT_SYSTEM, fdx_session_error(&s));
		rc = FDX_EXIT_SYSTEM;
		goto out;
	}
	for (uint64_t i = 0; i < o->count; i++)
		bufs[i].fd = -1;

	t0 = cli_now();
	for (uint64_t i = 0; i < o->count && rc == FDX_EXIT_OK; i++)
		rc = offer_one(&s, o, client, i, &bufs[i], rep);
	rep->seconds = cli_now() - t0;
	if (rc != FDX_EXIT_OK)
		goto out;

	if (s.stream) {
		struct stream_opts so = {
			.frames = o->frames,
			.duration = o->duration,
			.fill = !o->no_fill,
			.copy = o->copy,
			.seed = o->seed,
			.inject = o->inject,
			.flip_offset = o->flip_offset,
		};

		r = stream_produce(&s, &so, bufs, (uint32_t)o->count, o->size,
				   &rep->stream);
		rep->streamed = true;
		if (r < 0)
			rc = cli_exit_for(r);
		else if (rep->mismatch || rep->stream.mismatch)
			rc = FDX_EXIT_MISMATCH;
		goto out;
	}
	/* the consumer says goodbye first, with its totals; ours answer it */
	r = fdx_session_recv_bye(&s, &peer_bye);
	bye.objects = rep->objects;
	bye.bytes = rep->bytes;
	bye.mismatches = rep->mismatch;
	if (r >= 0)
		r = fdx_session_send_bye(&s, &bye);
	if (r < 0)
		rc = cli_exit_for(r);
	else if (rep->mismatch)
		rc = FDX_EXIT_MISMATCH;
out:
	if (rc != FDX_EXIT_OK && rc != FDX_EXIT_MISMATCH) {
		snprintf(rep->error, sizeof(rep->error), "%s", fdx_session_error(&s));
		cli_err("client %u: %s", client, rep->error);
	}
	if (bufs) {
		for (uint64_t i = 0; i < o->count; i++)
			fdx_buffer_release(&bufs[i]);
		free(bufs);
	}
	fdx_session_cleanup(&s);
	rep->exit = rc;
	return rc;
}

static void report_client(const struct client_report *rep, struct json_object *clients)
{
	if (clients) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "client", json_object_new_int64(rep->client));
		json_object_object_add(c, "pid", json_object_new_int64(rep->pid));
		json_object_object_add(c, "name", json_object_new_string(rep->name));
		json_object_object_add(c, "objects", json_object_new_uint64(rep->objects));
		json_object_object_add(c, "bytes", json_object_new_uint64(rep->bytes));
		json_object_object_add(c, "seconds", json_object_new_double(rep->seconds));
		json_object_object_add(c, "ok", json_object_new_uint64(rep->ok));
		json_object_object_add(c, "mismatch",
				       json_object_new_uint64(rep->mismatch));
		json_object_object_add(c, "unchecked",
				       json_object_new_uint64(rep->unchecked));
		json_object_object_add(c, "error",
				       rep->error[0] ? json_object_new_string(rep->error)
						     : NULL);
		json_object_object_add(c, "exit", json_object_new_int(rep->exit));
		json_object_object_add(c, "acks", json_object_get(rep->acks));
		json_object_object_add(c, "stream",
				       rep->streamed ? stream_json(&rep->stream, true)
						     : NULL);
		json_object_array_add(clients, c);
		return;
	}
	char counts[128];

	cli_verdict_counts(counts, sizeof(counts), rep->ok, rep->mismatch, rep->unchecked);
	cli_info("client %u (pid %d, %s): %" PRIu64 " objects, %" PRIu64
		 " bytes in %.1f ms: %s%s",
		 rep->client, (int)rep->pid, rep->name[0] ? rep->name : "?", rep->objects,
		 rep->bytes, rep->seconds * 1e3, counts,
		 rep->exit == FDX_EXIT_OK || rep->exit == FDX_EXIT_MISMATCH ? ""
									    : " (failed)");
	if (rep->streamed)
		stream_print(&rep->stream, true);
}

static int serve(const struct serve_opts *o, struct json_object *doc)
{
	struct json_object *clients = doc ? json_object_new_array() : NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, old_mask;
	int lfd = -1, lock_fd = -1, rc = FDX_EXIT_OK;
	struct stat st;
	int r;

	r = cli_socket_path(sock_path, sizeof(sock_path), true);
	if (r < 0)
		return r == -ENAMETOOLONG || r == -EINVAL ? FDX_EXIT_USAGE
							  : FDX_EXIT_SYSTEM;
	umask(077); /* the socket file is for this user only */
	/*
	 * A signal between bind() and the handler would leave the socket behind: hold the
	 * signals until the handler knows what to remove.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	r = fdx_channel_listen(sock_path, &lfd, &lock_fd);
	if (r < 0)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (r == -EADDRINUSE) {
		cli_err("cannot listen on '%s': a server is already running there",
			sock_path);
		return FDX_EXIT_SYSTEM;
	}
	if (r == -ENAMETOOLONG) {
		cli_err("cannot listen on '%s': path longer than %zu bytes", sock_path,
			sizeof(sock_path) - 1);
		return FDX_EXIT_USAGE;
	}
	if (r < 0) {
		cli_err("cannot listen on '%s': %s", sock_path, strerror(-r));
		return FDX_EXIT_SYSTEM;
	}
	if (stat(sock_path, &st) == 0) {
		sock_dev = st.st_dev;
		sock_ino = st.st_ino;
		sock_bound = 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL); /* a pending one is handled now */

	cli_info("listening on %s (%" PRIu64 " buffer%s of %" PRIu64 " bytes, seed %" PRIu64
		 ")",
		 sock_path, o->count, o->count == 1 ? "" : "s", o->size, o->seed);
	fflush(stdout);
	for (unsigned k = 1; o->clients == 0 || k <= o->clients; k++) {
		struct client_report rep = { .client = k };
		int conn;

		do
			r = fdx_channel_accept(lfd, &conn);
		while (r == -EINTR || r == -ECONNABORTED);
		if (r < 0) {
			cli_err("cannot accept a client on '%s': %s", sock_path,
				strerror(-r));
			rc = FDX_EXIT_SYSTEM;
			break;
		}
		if (clients)
			rep.acks = json_object_new_array();
		r = serve_client(conn, k, o, &rep);
		close(conn);
		if (r > rc)
			rc = r;
		report_client(&rep, clients);
		json_object_put(rep.acks);
		fflush(stdout);
	}
	unlink_our_socket();
	close(lfd);
	close(lock_fd); /* after the unlink: until then the path is ours */
	if (doc) {
		json_object_object_add(doc, "socket", json_object_new_string(sock_path));
		json_object_object_add(doc, "clients", clients);
	}
	return rc;
}

/* Stream options that only make sense together, checked before anything starts. */
static int check_stream_opts(const struct serve_opts *o, const char *frames_s,
			     const char *duration_s)
{
	if (frames_s && duration_s) {
		cli_err("--frames and --duration exclude each other");
		return -EINVAL;
	}
	if (duration_s && o->duration <= 0) {
		cli_err("--duration: give more than 0 seconds");
		return -EINVAL;
	}
	if (o->copy && !streaming(o)) {
		cli_err("--copy needs a stream (--frames or --duration)");
		return -EINVAL;
	}
	if (o->no_fill && !streaming(o)) {
		cli_err("--no-fill needs a stream (--frames or --duration)");
		return -EINVAL;
	}
	if (o->no_fill && o->inject != INJECT_NONE) {
		cli_err("--inject needs the buffers filled; it does nothing with --no-fill");
		return -EINVAL;
	}
	/* in a stream the damage lands on frame --count, the first to reuse a buffer */
	if (o->inject != INJECT_NONE && o->frames && o->frames <= o->count) {
		cli_err("--inject in a stream damages frame %" PRIu64
			", the first to reuse a "
			"buffer: give --frames more than %" PRIu64,
			o->count, o->count);
		return -EINVAL;
	}
	return 0;
}

static int serve_main(int argc, const char **argv)
{
	const char *count_s = NULL, *size_s = NULL, *seed_s = NULL, *clients_s = NULL;
	const char *inject_s = NULL, *frames_s = NULL, *duration_s = NULL;
	struct serve_opts o = { .count = 4, .size = DEFAULT_SIZE, .seed = 1, .clients = 1 };
	struct poptOption options[] = {
		{ "count", 'n', POPT_ARG_STRING, &count_s, 0,
		  "buffers sent to each client (default 4)", "N" },
		{ "size", '\0', POPT_ARG_STRING, &size_s, 0,
		  "bytes per buffer, K/M/G suffixes allowed (default 3110400, a 1080p NV12 frame)",
		  "BYTES" },
		{ "seed", '\0', POPT_ARG_STRING, &seed_s, 0, "pattern seed (default 1)",
		  "N" },
		{ "clients", 'c', POPT_ARG_STRING, &clients_s, 0,
		  "clients to serve one after the other, 0 = until interrupted (default 1)",
		  "N" },
		{ "frames", 'f', POPT_ARG_STRING, &frames_s, 0,
		  "then stream N frames through the buffers (READY/RELEASE)", "N" },
		{ "duration", 'd', POPT_ARG_STRING, &duration_s, 0, "or stream for SECONDS",
		  "SECONDS" },
		{ "copy", '\0', POPT_ARG_NONE, &o.copy, 0,
		  "send the frames' bytes through the socket instead of fds: the baseline that "
		  "zero-copy is measured against",
		  NULL },
		{ "no-fill", '\0', POPT_ARG_NONE, &o.no_fill, 0,
		  "stream without writing the buffers: the handoff alone", NULL },
		{ "inject", '\0', POPT_ARG_STRING, &inject_s, 0,
		  "testing aid: damage buffer 0, or the first reused frame of a stream "
		  "(flip:OFFSET, stale, torn)",
		  "KIND" },
		CLI_COMMON_TABLE,
		CLI_HELP_TABLE,
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext(argv[0], argc, argv, options, 0);
	struct json_object *doc = NULL;
	int rc;

	rc = cli_parse(pc, "[OPTIONS]");
	if (rc >= 0)
		goto out;
	rc = FDX_EXIT_USAGE;
	if ((count_s &&
	     cli_parse_u64("--count", count_s, 1, MAX_COUNT, false, &o.count) < 0) ||
	    (size_s && cli_parse_u64("--size", size_s, 1, INT64_MAX, true, &o.size) < 0) ||
	    (seed_s &&
	     cli_parse_u64("--seed", seed_s, 0, UINT64_MAX, false, &o.seed) < 0) ||
	    (clients_s &&
	     cli_parse_u64("--clients", clients_s, 0, UINT32_MAX, false, &o.clients) < 0) ||
	    (inject_s && parse_inject(inject_s, &o) < 0) ||
	    (frames_s &&
	     cli_parse_u64("--frames", frames_s, 1, UINT64_MAX, false, &o.frames) < 0) ||
	    (duration_s && cli_parse_seconds("--duration", duration_s, &o.duration) < 0))
		goto out;
	if (check_stream_opts(&o, frames_s, duration_s) < 0)
		goto out;
	rc = check_resources(&o);
	if (rc >= 0)
		goto out;
	if (cli.json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "count", json_object_new_uint64(o.count));
		json_object_object_add(doc, "size", json_object_new_uint64(o.size));
		json_object_object_add(doc, "seed", json_object_new_uint64(o.seed));
	}
	rc = serve(&o, doc);
	if (doc)
		cli_print_json(doc, rc);
out:
	/* popt hands string arguments over to us */
	free((char *)count_s);
	free((char *)size_s);
	free((char *)seed_s);
	free((char *)clients_s);
	free((char *)inject_s);
	free((char *)frames_s);
	free((char *)duration_s);
	poptFreeContext(pc);
	return rc;
}

const struct fdx_cmd fdx_cmd_serve = {
	.name = "serve",
	.run = serve_main,
	.summary = "producer: listen, send sealed buffers filled with a seeded pattern",
};
