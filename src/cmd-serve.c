/* cmd-serve.c - `fdx serve`: the server; a producer of sealed, pattern-filled buffers, or
 * with --receive a consumer of what its clients send */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backendopts.h"
#include "channel.h"
#include "cli.h"
#include "consume.h"
#include "fdx.h"
#include "image.h"
#include "imageopts.h"
#include "object.h"
#include "produce.h"
#include "provenance.h"
#include "serve.h"
#include "session.h"
#include "stream.h"

#define DEFAULT_SIZE 3110400u /* raw objects: the bytes of one 1920x1080 NV12 frame */
#define MAX_COUNT    65536u
#define FD_RESERVE   32u /* fds beyond the buffers: stdio, sockets, popt, libc */

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
	o->inject = INJECT_FLIP;
	return 0;
}

bool serve_streaming(const struct serve_opts *o)
{
	return o->frames || o->duration > 0;
}

/* Object i: the --format list is taken in turn. */
static const struct fdx_object *layout_of(const struct serve_opts *o, uint64_t i)
{
	return &o->layouts[i % o->img.nformats];
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
	uint64_t total = 0, fds = 0;
	bool overflow = false;

	for (uint64_t i = 0; i < o->count; i++) {
		uint64_t sizes[FDX_MAX_PLANES];
		unsigned n = 0;

		fdx_image_fd_sizes(layout_of(o, i), sizes, &n);
		fds += n;
		for (unsigned k = 0; k < n; k++)
			overflow |= fdx_add_overflow(total, sizes[k], &total);
	}
	if (fds + FD_RESERVE > nofile) {
		cli_err("--count %" PRIu64 " needs %" PRIu64
			" file descriptors, the limit is %" PRIu64 " (ulimit -n)",
			o->count, fds + FD_RESERVE, nofile);
		return FDX_EXIT_SYSTEM;
	}
	if (overflow || (avail && total > avail)) {
		cli_err("%" PRIu64 " buffers of %" PRIu64
			" bytes in all need more memory than the %" PRIu64
			" bytes available",
			o->count, total, avail);
		return FDX_EXIT_SYSTEM;
	}
	return -1;
}

/* Object i of a client: allocated, named, filled with frame i (damaged on request). */
int serve_make_object(void *ctx, uint64_t i, struct fdx_held *h, char *err, size_t errcap)
{
	const struct serve_make_ctx *c = ctx;
	const struct serve_opts *o = c->o;
	struct fdx_provenance prov = { .pid = (uint32_t)getpid(),
				       .session = c->client,
				       .index = i,
				       .plane = -1,
				       .has_seed = true,
				       .seed = o->seed };
	struct fdx_object obj = *layout_of(o, i);
	struct fdx_pattern pat;
	int r;

	char why[400];

	obj.backend = o->copy ? FDX_BACKEND_COPY : o->backend.backend;
	obj.content = FDX_CONTENT_PATTERN;
	obj.seed = o->seed;
	obj.frame = i;
	r = fdx_held_make(h, &obj, &prov, &o->backend, FDX_BUF_POPULATE, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errcap,
			 "cannot allocate buffer %" PRIu64 " (%" PRIu64 " bytes): %s", i,
			 obj.size, why);
		return r;
	}
	/* a DMA-BUF is told that the CPU writes it; the other kinds ignore this */
	r = fdx_held_cpu_begin(h, true);
	if (r < 0) {
		snprintf(err, errcap,
			 "cannot fill buffer %" PRIu64 " (DMA_BUF_IOCTL_SYNC): %s", i,
			 strerror(-r));
		return r;
	}
	fdx_pattern_init(&pat, o->seed, i);
	fdx_held_fill(h, &pat, 0, obj.size);
	/* in a stream the damage goes to the first frame that reuses a buffer instead */
	if (i == 0 && o->inject != INJECT_NONE && !serve_streaming(o))
		stream_damage(h, o->inject, o->seed, 0, o->flip_offset);
	return fdx_held_cpu_end(h, true);
}

/* The client's limits against what we are asked to send: refuse before allocating. */
int serve_check_client(struct fdx_session *s, const struct serve_opts *o)
{
	uint64_t largest = 0;

	for (unsigned k = 0; k < o->img.nformats; k++)
		if (o->layouts[k].size > largest)
			largest = o->layouts[k].size;
	if (o->count > s->peer.max_objects)
		return fdx_session_fail(s, -E2BIG,
					"client accepts at most %" PRIu32
					" objects, asked to send %" PRIu64,
					s->peer.max_objects, o->count);
	if (serve_streaming(o) && !(s->peer.caps & FDX_CAP_STREAM))
		return fdx_session_fail(
			s, -EOPNOTSUPP,
			"consumer '%s' does not take streams (no STREAM capability)",
			s->peer.name);
	if (s->peer.max_size && largest > s->peer.max_size)
		return fdx_session_fail(s, -EFBIG,
					"client accepts objects of at most %" PRIu64
					" bytes, asked to send %" PRIu64,
					s->peer.max_size, largest);
	return 0;
}

static int produce_for(struct fdx_session *s, unsigned client, const struct serve_opts *o,
		       struct client_report *rep)
{
	struct serve_make_ctx ctx = { .o = o, .client = client };
	struct fdx_held *objs;
	int r;

	r = serve_check_client(s, o);
	if (r < 0) {
		fdx_session_send_error(s, FDX_EXIT_PEER, fdx_session_error(s));
		return r;
	}
	objs = calloc(o->count, sizeof(*objs));
	if (!objs) {
		r = fdx_session_fail(s, -ENOMEM, "out of memory for %" PRIu64 " buffers",
				     o->count);
		fdx_session_send_error(s, FDX_EXIT_SYSTEM, fdx_session_error(s));
		return r;
	}
	r = produce_objects(s, o->count, serve_make_object, &ctx, objs, &rep->prod);
	if (r >= 0 && s->stream) {
		struct stream_opts so = {
			.frames = o->frames,
			.duration = o->duration,
			.fill = !o->no_fill,
			.copy = o->copy,
			.seed = o->seed,
			.inject = o->inject,
			.flip_offset = o->flip_offset,
		};

		rep->prod.streamed = true;
		r = stream_produce(s, &so, objs, (uint32_t)o->count, &rep->prod.stream);
	} else if (r >= 0) {
		/* the consumer says goodbye first, with its totals; ours answer it */
		r = produce_finish(s, &rep->prod);
	}
	for (uint64_t i = 0; i < o->count; i++)
		fdx_held_release(&objs[i]);
	free(objs);
	return r;
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
	char prefix[32];
	struct fdx_session s;
	int r;

	if (o->receive) {
		hello = consume_hello("fdx-serve");
		/* clients one after the other would overwrite each other's dumps */
		snprintf(prefix, sizeof(prefix), "c%u-", client);
		rep->dump = o->dump;
		rep->dump.prefix = prefix;
	}
	if (fdx_channel_peer_pid(conn, &rep->pid) < 0)
		rep->pid = 0;
	fdx_session_init(&s, conn, true, &hello);
	s.trace = cli_trace;
	s.want_stream = !o->receive && serve_streaming(o);
	r = cli_session_setup(&s);
	if (r >= 0)
		r = cli_session_admit(&s, sock_path, true, !o->receive);
	if (r >= 0)
		r = fdx_session_handshake(&s);
	if (r >= 0) {
		snprintf(rep->name, sizeof(rep->name), "%s", s.peer.name);
		if (o->receive)
			r = consume_session(&s, o->verify, &rep->dump, NULL, &rep->cons);
		else
			r = produce_for(&s, client, o, rep);
	}
	rep->exit = o->receive ? consume_exit(&rep->cons, r) : produce_exit(&rep->prod, r);
	if (o->receive && rep->dump.failed && rep->exit == FDX_EXIT_OK)
		rep->exit = FDX_EXIT_SYSTEM;
	if (r < 0) {
		snprintf(rep->error, sizeof(rep->error), "%s", fdx_session_error(&s));
		cli_err("client %u: %s", client, rep->error);
	}
	rep->dump.prefix = NULL; /* the buffer it pointed at is gone */
	fdx_session_cleanup(&s);
	return rep->exit;
}

void serve_report_client(const struct client_report *rep, bool receive,
			 struct json_object *clients)
{
	bool failed = rep->exit != FDX_EXIT_OK && rep->exit != FDX_EXIT_MISMATCH;
	char counts[192];

	if (clients) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "client", json_object_new_int64(rep->client));
		json_object_object_add(c, "pid", json_object_new_int64(rep->pid));
		json_object_object_add(c, "name", json_object_new_string(rep->name));
		if (receive) {
			consume_json(&rep->cons, c);
			cli_dump_json(&rep->dump, c);
		} else {
			produce_json(&rep->prod, c);
		}
		json_object_object_add(c, "error",
				       rep->error[0] ? json_object_new_string(rep->error)
						     : NULL);
		json_object_object_add(c, "exit", json_object_new_int(rep->exit));
		json_object_array_add(clients, c);
		return;
	}
	if (receive) {
		char v[96];

		cli_verdict_counts(v, sizeof(v), rep->cons.ok, rep->cons.mismatch,
				   rep->cons.unchecked);
		snprintf(counts, sizeof(counts),
			 "received %" PRIu64 " objects, %" PRIu64 " bytes: %s",
			 rep->cons.objects, rep->cons.bytes, v);
	} else {
		produce_counts(&rep->prod, counts, sizeof(counts));
	}
	cli_info("client %u (pid %d, %s): %s%s", rep->client, (int)rep->pid,
		 rep->name[0] ? rep->name : "?", counts, failed ? " (failed)" : "");
	if (receive && rep->cons.streamed)
		stream_print(&rep->cons.stream, false);
	if (!receive && rep->prod.streamed)
		stream_print(&rep->prod.stream, true);
}

/* What the first line says the server offers. */
static void describe_offer(const struct serve_opts *o, char *buf, size_t cap)
{
	const struct fdx_object *l = &o->layouts[0];
	char shape[48];

	if (o->receive) {
		snprintf(buf, cap, "receiving objects%s",
			 o->verify ? ", verifying them" : "");
		return;
	}
	if (o->img.nformats > 1)
		snprintf(buf, cap,
			 "%" PRIu64
			 " buffers, formats taken in turn from %s, seed %" PRIu64,
			 o->count, "--format", o->seed);
	else if (l->kind == FDX_KIND_IMAGE)
		snprintf(buf, cap,
			 "%" PRIu64 " buffer%s of %s, %" PRIu64 " bytes, seed %" PRIu64,
			 o->count, o->count == 1 ? "" : "s",
			 fdx_object_shape(l, shape, sizeof(shape)), l->size, o->seed);
	else
		snprintf(buf, cap,
			 "%" PRIu64 " buffer%s of %" PRIu64 " bytes, seed %" PRIu64,
			 o->count, o->count == 1 ? "" : "s", l->size, o->seed);
}

static int serve(const struct serve_opts *o, struct json_object *doc)
{
	char offer[160], be[128];
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
	mode_t old_umask = umask(077); /* the socket file is for this user only */
	/*
	 * A signal between bind() and the handler would leave the socket behind: hold the
	 * signals until the handler knows what to remove.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	r = fdx_channel_listen_on(sock_path, cli.transport, &lfd, &lock_fd);
	umask(old_umask); /* what else we write (dumps) is the user's business */
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

	describe_offer(o, offer, sizeof(offer));
	if (o->receive)
		cli_info("listening on %s (%s)", sock_path, offer);
	else /* after the parenthesis that scripts know: what the buffers are */
		cli_info("listening on %s (%s); backend %s", sock_path, offer,
			 o->copy ? "copy"
				 : backendopts_describe(
					   &o->backend,
					   o->img.nformats == 1 ? &o->layouts[0] : NULL, be,
					   sizeof(be)));
	fflush(stdout);
	if (o->concurrent) {
		rc = fanout_serve(lfd, o, clients);
		goto done;
	}
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
		if (clients) {
			rep.prod.acks = json_object_new_array();
			rep.cons.objects_json = json_object_new_array();
		}
		r = serve_client(conn, k, o, &rep);
		close(conn);
		if (r > rc)
			rc = r;
		serve_report_client(&rep, o->receive, clients);
		json_object_put(rep.prod.acks);
		json_object_put(rep.cons.objects_json);
		fflush(stdout);
	}
done:
	unlink_our_socket();
	close(lfd);
	close(lock_fd); /* after the unlink: until then the path is ours */
	if (doc) {
		json_object_object_add(doc, "socket", json_object_new_string(sock_path));
		json_object_object_add(doc, "clients", clients);
	}
	return rc;
}

/* Producer options that only make sense together, checked before anything starts. */
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
	if (o->copy && !serve_streaming(o)) {
		cli_err("--copy needs a stream (--frames or --duration)");
		return -EINVAL;
	}
	if (o->copy && cli.transport == FDX_TRANSPORT_STREAM) {
		cli_err("--copy sends DATA records, which need --transport seqpacket");
		return -EINVAL;
	}
	if (o->copy && o->img.fd_per_plane) {
		cli_err("--copy sends each object as one buffer; it does not go with "
			"--fd-per-plane");
		return -EINVAL;
	}
	if (o->no_fill && !serve_streaming(o)) {
		cli_err("--no-fill needs a stream (--frames or --duration)");
		return -EINVAL;
	}
	if (o->no_fill && o->inject != INJECT_NONE) {
		cli_err("--inject needs the buffers filled; it does nothing with --no-fill");
		return -EINVAL;
	}
	if (o->inject == INJECT_FLIP) {
		/* in a stream the damaged buffer is whichever comes back first: any size */
		uint64_t room = o->layouts[0].size;

		for (unsigned k = 1; serve_streaming(o) && k < o->img.nformats; k++)
			if (o->layouts[k].size < room)
				room = o->layouts[k].size;
		if (o->flip_offset >= room) {
			cli_err("--inject flip:%" PRIu64
				": offset is beyond the buffer (%s "
				"has %" PRIu64 " bytes)",
				o->flip_offset,
				serve_streaming(o) && o->img.nformats > 1 ? "the smallest"
									  : "buffer 0",
				room);
			return -EINVAL;
		}
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

/* --concurrent and --max-held: what goes with them. */
static int check_concurrent(struct serve_opts *o, const char *max_held_s)
{
	if (max_held_s && !o->concurrent) {
		cli_err("--max-held is for --concurrent streams");
		return -EINVAL;
	}
	if (!o->concurrent)
		return 0;
	if (o->receive) {
		cli_err("--concurrent serves producers' consumers; --receive takes one client "
			"at a time");
		return -EINVAL;
	}
	if (o->copy) {
		cli_err("--copy sends each client its own bytes; it does not go with "
			"--concurrent, whose clients share one ring");
		return -EINVAL;
	}
	/* at least one buffer stays in circulation while one client holds its most */
	o->max_held = o->count > 1 ? o->count / 2 : 1;
	if (max_held_s &&
	    cli_parse_u64("--max-held", max_held_s, 1, o->count, false, &o->max_held) < 0)
		return -EINVAL;
	return 0;
}

/* With --receive the clients decide what is sent: the producer's options are refused. */
static int check_receive_opts(const char *const *given, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!given[i])
			continue;
		cli_err("%s is for sending; with --receive the clients decide what comes",
			names[i]);
		return -EINVAL;
	}
	return 0;
}

/* Lay out every --format entry once; --size is for raw objects only. */
static int setup_layouts(struct serve_opts *o, const struct imageopts_args *ia,
			 const char *size_s)
{
	bool has_raw = false, has_image = false;

	/* --size alone asks for raw objects, as it always did */
	if (imageopts_parse(&o->img, ia, size_s && !ia->format ? "raw" : "nv12") < 0)
		return -EINVAL;
	for (unsigned k = 0; k < o->img.nformats; k++) {
		has_raw |= o->img.formats[k] == FDX_FORMAT_RAW;
		has_image |= o->img.formats[k] != FDX_FORMAT_RAW;
		if (imageopts_layout(&o->img, o->img.formats[k], o->img.width,
				     o->img.height, o->size, NULL, &o->layouts[k]) < 0)
			return -EINVAL;
	}
	if (size_s && !has_raw) {
		cli_err("--size is for raw objects; an image's size follows from --format, "
			"--width and --height");
		return -EINVAL;
	}
	if (!has_image && (ia->width || ia->height || ia->align || ia->fd_per_plane)) {
		cli_err("%s is for image formats; the objects are raw (--format raw)",
			ia->width    ? "--width"
			: ia->height ? "--height"
			: ia->align  ? "--align"
				     : "--fd-per-plane");
		return -EINVAL;
	}
	return 0;
}

static int serve_main(int argc, const char **argv)
{
	const char *count_s = NULL, *size_s = NULL, *seed_s = NULL, *clients_s = NULL;
	const char *inject_s = NULL, *frames_s = NULL, *duration_s = NULL;
	const char *dump_s = NULL, *every_s = NULL, *max_held_s = NULL;
	struct imageopts_args ia = { 0 };
	struct backendopts_args ba = { 0 };
	struct serve_opts o = { .count = 4, .size = DEFAULT_SIZE, .seed = 1, .clients = 1 };
	struct poptOption options[] = {
		{ "count", 'n', POPT_ARG_STRING, &count_s, 0,
		  "buffers sent to each client (default 4)", "N" },
		IMAGEOPTS_TABLE(ia, "object formats, taken in turn: raw or an image format "
				    "(default nv12; 'fdx serve --format help' lists them)"),
		{ "size", '\0', POPT_ARG_STRING, &size_s, 0,
		  "bytes per raw object, K/M/G suffixes allowed (default 3110400); alone it "
		  "means --format raw",
		  "BYTES" },
		{ "seed", '\0', POPT_ARG_STRING, &seed_s, 0, "pattern seed (default 1)",
		  "N" },
		BACKENDOPTS_TABLE(ba),
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
		{ "concurrent", '\0', POPT_ARG_NONE, &o.concurrent, 0,
		  "serve every client at once, one shared ring: each frame goes to all of them",
		  NULL },
		{ "max-held", '\0', POPT_ARG_STRING, &max_held_s, 0,
		  "--concurrent: buffers one client may hold; beyond, its frames are dropped "
		  "(default: half the ring)",
		  "K" },
		{ "receive", 'r', POPT_ARG_NONE, &o.receive, 0,
		  "be a consumer instead: take the objects clients such as send-image send",
		  NULL },
		{ "verify", '\0', POPT_ARG_NONE, &o.verify, 0,
		  "with --receive: check every object against its pattern or checksum",
		  NULL },
		CLI_DUMP_OPTIONS(dump_s, every_s),
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
	if (imageopts_help(&ia, true)) {
		rc = FDX_EXIT_OK;
		goto out;
	}
	if (o.receive) {
		const char *given[] = { count_s,
					size_s,
					seed_s,
					ia.format,
					ia.width,
					ia.height,
					ia.align,
					frames_s,
					duration_s,
					inject_s,
					o.copy ? "" : NULL,
					o.no_fill ? "" : NULL,
					ia.fd_per_plane ? "" : NULL,
					ba.backend,
					ba.dir };
		static const char *const names[] = {
			"--count",  "--size",	 "--seed",	   "--format",	 "--width",
			"--height", "--align",	 "--frames",	   "--duration", "--inject",
			"--copy",   "--no-fill", "--fd-per-plane", "--backend",	 "--dir",
		};

		if (check_receive_opts(given, names, FDX_ARRAY_SIZE(names)) < 0)
			goto out;
	} else if (o.verify || dump_s || every_s) {
		cli_err("%s is for --receive; to check what serve sends, run 'fdx connect "
			"--verify'",
			o.verify ? "--verify"
			: dump_s ? "--dump"
				 : "--dump-every");
		goto out;
	}
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
	if (setup_layouts(&o, &ia, size_s) < 0 || backendopts_parse(&o.backend, &ba) < 0)
		goto out;
	if (check_concurrent(&o, max_held_s) < 0)
		goto out;
	/* anyone can connect to an abstract name: who may must be said */
	if (cli.socket && fdx_channel_is_abstract(cli.socket) && !cli.allow_s) {
		cli_err("--socket %s: an abstract socket has no permissions; say who may connect "
			"with --allow-uid",
			cli.socket);
		goto out;
	}
	if (o.copy && (ba.backend || ba.dir)) {
		cli_err("--copy sends no fds: the frames go through the socket, so there is no "
			"%s",
			ba.backend ? "--backend" : "--dir");
		goto out;
	}
	if (!o.receive && check_stream_opts(&o, frames_s, duration_s) < 0)
		goto out;
	rc = cli_dump_setup(&o.dump, dump_s, every_s);
	if (rc >= 0)
		goto out;
	if (!o.receive) {
		rc = check_resources(&o);
		if (rc < 0 && !o.copy)
			rc = backendopts_probe(&o.backend,
					       &ba); /* before anyone connects */
		if (rc >= 0)
			goto out;
	}
	if (cli.json) {
		struct json_object *f = json_object_new_array();

		doc = json_object_new_object();
		json_object_object_add(doc, "receive", json_object_new_boolean(o.receive));
		if (!o.receive) {
			struct fdx_backend_spec copy = { .backend = FDX_BACKEND_COPY };

			for (unsigned k = 0; k < o.img.nformats; k++)
				json_object_array_add(
					f, json_object_new_string(
						   fdx_format_name(o.img.formats[k])));
			json_object_object_add(doc, "count",
					       json_object_new_uint64(o.count));
			json_object_object_add(doc, "formats", json_object_get(f));
			json_object_object_add(doc, "size",
					       json_object_new_uint64(o.layouts[0].size));
			json_object_object_add(doc, "seed", json_object_new_uint64(o.seed));
			json_object_object_add(
				doc, "backend",
				backendopts_json(o.copy ? &copy : &o.backend));
		}
		json_object_put(f);
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
	free((char *)dump_s);
	free((char *)every_s);
	free((char *)max_held_s);
	imageopts_free(&ia);
	backendopts_free(&ba);
	poptFreeContext(pc);
	return rc;
}

const struct fdx_cmd fdx_cmd_serve = {
	.name = "serve",
	.run = serve_main,
	.summary =
		"server: send sealed pattern-filled buffers, or take them with --receive",
};
