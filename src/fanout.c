/* fanout.c - fdx serve --concurrent: every client at once from one event loop, and one
 * shared ring of buffers whose frames go to every consumer */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "fdx.h"
#include "serve.h"
#include "stream.h"

/*
 * How long one client may hold the loop up: a receive of a message that trickles in, or
 * a send to a client whose socket is full. Past it the client is cut off, so that a
 * broken or hostile client costs the others at most this, once.
 */
#define CLIENT_IO_TIMEOUT_S 2

enum client_state {
	C_HELLO,    /* our HELLO is out, theirs is due */
	C_OBJECTS,  /* object `next` is out, its ACK is due */
	C_FRAMES,   /* in the stream: READYs out, RELEASEs due */
	C_BYE_WAIT, /* no stream: the objects are through, their BYE is due */
	C_END,	    /* the stream is over: our BYE is out, theirs is due */
	C_DONE,
	C_FAILED,
};

struct client {
	int fd;
	unsigned state; /* enum client_state */
	struct fdx_session s;
	struct client_report rep;
	uint32_t next;	   /* C_OBJECTS: the object whose ACK is due */
	uint32_t held;	   /* C_FRAMES: buffers between READY and RELEASE */
	bool *holds;	   /* per buffer: this client holds it (an object or a frame) */
	uint64_t *sent_ns; /* per buffer: when its READY went to this client */
	uint64_t admitted_ns;
	uint64_t joined_ns;
	uint64_t heard_ns; /* when the client last sent a message */
};

struct fanout {
	const struct serve_opts *o;
	struct stream_opts so;
	struct fdx_held *objs; /* the ring, shared by every client */
	uint32_t n;
	uint32_t *holders; /* per buffer: clients that hold it */
	uint64_t *frame;   /* per buffer: the frame it holds */
	uint32_t cursor;   /* where the search for a free buffer starts */
	struct client *clients;
	size_t nclients, cap;
	unsigned accepted;
	bool started, over;
	uint64_t produced; /* frames handed out (to one client or more) */
	uint64_t start_ns, deadline_ns;
	long faults;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static bool active(const struct client *c)
{
	return c->state != C_DONE && c->state != C_FAILED;
}

/* Give back whatever the client holds, so that the others are not kept waiting. */
static void drop_holds(struct fanout *f, struct client *c)
{
	for (uint32_t b = 0; b < f->n; b++) {
		if (!c->holds[b])
			continue;
		c->holds[b] = false;
		f->holders[b]--;
	}
	c->held = 0;
}

static void fail_client(struct fanout *f, struct client *c, int err)
{
	if (!active(c))
		return;
	drop_holds(f, c);
	c->rep.exit = produce_exit(&c->rep.prod, err);
	snprintf(c->rep.error, sizeof(c->rep.error), "%s", fdx_session_error(&c->s));
	cli_err("client %u: %s", c->rep.client, c->rep.error);
	c->state = C_FAILED;
	close(c->fd);
	c->fd = -1;
}

static void finish_client(struct client *c)
{
	c->rep.exit = produce_exit(&c->rep.prod, 0);
	c->state = C_DONE;
	close(c->fd);
	c->fd = -1;
}

/* Object c->next, as it is now (late joiners get the frame each buffer holds). */
static int send_object(struct fanout *f, struct client *c)
{
	uint32_t i = c->next;
	struct fdx_object obj = f->objs[i].obj;
	int fds[FDX_MAX_PLANES];
	unsigned nfds = fdx_held_fds(&f->objs[i], fds);

	obj.frame = f->frame[i];
	/* held while the client checks it: the ring must not refill it under its eyes */
	c->holds[i] = true;
	f->holders[i]++;
	return fdx_session_send_object(&c->s, &obj, fds, nfds, i + 1 == f->n);
}

static void tally(struct produce_report *rep, unsigned verdict)
{
	if (verdict == FDX_VERDICT_OK)
		rep->ok++;
	else if (verdict == FDX_VERDICT_MISMATCH)
		rep->mismatch++;
	else
		rep->unchecked++;
}

static void stream_tally(struct stream_report *rep, unsigned verdict)
{
	if (verdict == FDX_VERDICT_OK)
		rep->ok++;
	else if (verdict == FDX_VERDICT_MISMATCH)
		rep->mismatch++;
	else
		rep->unchecked++;
}

/* The client has something to say: the next step of its session. */
static void step(struct fanout *f, struct client *c)
{
	struct fdx_object_ack ack;
	struct fdx_release rel;
	struct fdx_bye bye;
	int r = 0;

	c->heard_ns = now_ns();
	switch (c->state) {
	case C_HELLO:
		r = fdx_session_meet(&c->s);
		if (r < 0)
			break;
		snprintf(c->rep.name, sizeof(c->rep.name), "%s", c->s.peer.name);
		r = serve_check_client(&c->s, f->o);
		if (r < 0) {
			fdx_session_send_error(&c->s, FDX_EXIT_PEER,
					       fdx_session_error(&c->s));
			break;
		}
		r = send_object(f, c);
		c->state = C_OBJECTS;
		break;
	case C_OBJECTS:
		r = fdx_session_recv_ack(&c->s, &ack);
		if (r < 0)
			break;
		c->rep.prod.seconds = (double)(now_ns() - c->admitted_ns) / 1e9;
		c->holds[c->next] = false;
		f->holders[c->next]--;
		c->rep.prod.objects++;
		c->rep.prod.bytes += f->objs[c->next].obj.size;
		tally(&c->rep.prod, ack.verdict);
		if (++c->next < f->n) {
			r = send_object(f, c);
		} else if (c->s.stream) {
			c->state = C_FRAMES;
			c->joined_ns = now_ns();
			c->rep.prod.streamed = true;
		} else {
			c->state = C_BYE_WAIT;
		}
		break;
	case C_FRAMES:
		r = fdx_session_recv_release(&c->s, &rel);
		if (r < 0)
			break;
		c->holds[rel.buffer] = false;
		f->holders[rel.buffer]--;
		c->held--;
		fdx_hist_add(&c->rep.prod.stream.lat, now_ns() - c->sent_ns[rel.buffer]);
		stream_tally(&c->rep.prod.stream, rel.verdict);
		if (rel.verdict == FDX_VERDICT_MISMATCH && c->rep.prod.stream.mismatch == 1)
			c->rep.prod.stream.first_bad_frame = rel.frame;
		/* how far behind it is: the frames handed out since the one it gives back
		 */
		if (f->produced - 1 - rel.frame > c->rep.prod.stream.max_lag)
			c->rep.prod.stream.max_lag = f->produced - 1 - rel.frame;
		break;
	case C_BYE_WAIT:
		r = produce_finish(&c->s, &c->rep.prod);
		if (r >= 0)
			finish_client(c);
		break;
	case C_END:
		r = fdx_session_recv_bye(&c->s, &bye);
		if (r >= 0 && bye.frames != c->rep.prod.stream.frames)
			r = fdx_session_fail(&c->s, -EPROTO,
					     "the consumer counted %" PRIu64
					     " frames, %" PRIu64 " were sent",
					     bye.frames, c->rep.prod.stream.frames);
		if (r >= 0)
			finish_client(c);
		break;
	}
	if (r < 0)
		fail_client(f, c, r);
}

/* A new connection: set it up and greet it. */
static int admit(struct fanout *f, int conn)
{
	struct fdx_hello hello = {
		.role = FDX_ROLE_PRODUCER,
		.caps = FDX_CAP_PATTERN | FDX_CAP_STREAM,
		.pid = (uint32_t)getpid(),
		.max_fds = FDX_MAX_PLANES,
		.max_objects = 1, /* a producer takes none; 0 is not a valid limit */
		.name = "fdx-serve",
	};
	struct client *c;
	int r;

	if (f->nclients == f->cap) {
		size_t ncap = f->cap ? 2 * f->cap : 8;
		struct client *n = realloc(f->clients, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->clients = n;
		f->cap = ncap;
	}
	c = &f->clients[f->nclients];
	memset(c, 0, sizeof(*c));
	c->holds = calloc(f->n, sizeof(*c->holds));
	c->sent_ns = calloc(f->n, sizeof(*c->sent_ns));
	if (!c->holds || !c->sent_ns) {
		free(c->holds);
		free(c->sent_ns);
		return -ENOMEM;
	}
	f->nclients++;
	c->fd = conn;
	c->admitted_ns = c->heard_ns = now_ns();
	c->rep.client = ++f->accepted;
	c->rep.prod.stream.fanout = true;
	fdx_hist_init(&c->rep.prod.stream.lat);
	if (fdx_channel_peer_pid(conn, &c->rep.pid) < 0)
		c->rep.pid = 0;
	fdx_session_init(&c->s, conn, true, &hello);
	c->s.trace = cli_trace;
	c->s.want_stream = serve_streaming(f->o);
	c->state = C_HELLO;
	r = cli_session_setup(&c->s);
	if (r >= 0)
		r = cli_session_admit(&c->s, "", true, true);
	/*
	 * The loop only reads what poll says is there, so the socket's own timeouts need
	 * only cover a message that stops half way and a client that stops reading: short,
	 * so that one such client holds the others up for little. --timeout bounds how
	 * long a client may owe a message (see overdue()).
	 */
	if (r >= 0)
		r = fdx_session_set_timeout(&c->s, CLIENT_IO_TIMEOUT_S * 1000);
	if (r >= 0)
		r = fdx_session_greet(&c->s);
	if (r < 0)
		fail_client(f, c, r);
	return 0;
}

/*
 * A client that owes a message (its HELLO, an ACK, the RELEASE of what it holds, its BYE)
 * and has sent nothing for --timeout is cut off: what it holds goes back to the ring.
 */
static void overdue(struct fanout *f, uint64_t now)
{
	for (size_t i = 0; i < f->nclients; i++) {
		struct client *c = &f->clients[i];
		bool owes = c->state != C_FRAMES || c->held > 0;

		if (!active(c) || !owes || cli.timeout <= 0 ||
		    now - c->heard_ns < (uint64_t)(cli.timeout * 1e9))
			continue;
		fdx_session_fail(
			&c->s, -ETIMEDOUT,
			"client sent nothing for %.3g s while %s (it holds %" PRIu32
			" buffer%s)",
			cli.timeout,
			c->state == C_FRAMES ? "it held frames" : "a reply was due",
			c->held, c->held == 1 ? "" : "s");
		fdx_session_send_error(&c->s, FDX_EXIT_TIMEOUT, fdx_session_error(&c->s));
		fail_client(f, c, -ETIMEDOUT);
	}
}

/* Can a frame go out now: a free buffer, and a client in the stream with room? */
static bool takers(const struct fanout *f)
{
	for (size_t i = 0; i < f->nclients; i++)
		if (f->clients[i].state == C_FRAMES && f->clients[i].held < f->o->max_held)
			return true;
	return false;
}

static int64_t free_buffer(struct fanout *f)
{
	for (uint32_t k = 0; k < f->n; k++) {
		uint32_t b = (f->cursor + k) % f->n;

		if (f->holders[b] == 0) {
			f->cursor = (b + 1) % f->n;
			return b;
		}
	}
	return -1;
}

/* Fill a free buffer with the next frame and hand it to every client that can take it. */
static bool dispatch(struct fanout *f)
{
	int64_t b;
	uint64_t t;

	if (!takers(f) || (b = free_buffer(f)) < 0)
		return false;
	/* the testing aids damage the first frame that reuses a buffer, as in one stream */
	if (stream_fill_frame(&f->so, &f->objs[b], f->produced,
			      f->so.inject != INJECT_NONE && f->produced == f->n) < 0) {
		/* a buffer the producer cannot write: the stream ends for everyone */
		cli_err("cannot fill buffer %" PRId64 " (DMA_BUF_IOCTL_SYNC): %s", b,
			strerror(errno));
		f->over = true;
		return false;
	}
	f->frame[b] = f->produced;
	t = now_ns();
	for (size_t i = 0; i < f->nclients; i++) {
		struct client *c = &f->clients[i];
		int r;

		if (c->state != C_FRAMES)
			continue;
		if (c->held >= f->o->max_held) {
			c->rep.prod.stream.dropped++;
			continue;
		}
		r = fdx_session_send_ready(&c->s, (uint32_t)b, f->produced);
		if (r < 0) {
			fail_client(f, c, r);
			continue;
		}
		c->holds[b] = true;
		f->holders[b]++;
		c->held++;
		c->sent_ns[b] = t;
		c->rep.prod.stream.frames++;
		c->rep.prod.stream.bytes += f->objs[b].obj.size;
	}
	f->produced++;
	return true;
}

/* The stream ends for each client once it holds nothing: our BYE, then theirs. */
static void end_stream(struct fanout *f)
{
	uint64_t t = now_ns();

	for (size_t i = 0; i < f->nclients; i++) {
		struct client *c = &f->clients[i];
		struct fdx_bye bye = { 0 };
		int r;

		if (c->state != C_FRAMES || c->held)
			continue;
		c->rep.prod.stream.seconds = (double)(t - c->joined_ns) / 1e9;
		c->rep.prod.stream.faults = faults_now() - f->faults;
		bye.objects = f->n;
		bye.frames = c->rep.prod.stream.frames;
		bye.bytes = c->rep.prod.stream.bytes;
		bye.mismatches = c->rep.prod.stream.mismatch;
		r = fdx_session_send_bye(&c->s, &bye);
		if (r < 0)
			fail_client(f, c, r);
		else
			c->state = C_END;
	}
}

/* Start once --clients have joined (or, with --clients 0, the first one). */
static void maybe_start(struct fanout *f)
{
	size_t in_stream = 0, gone = 0;

	if (f->started)
		return;
	for (size_t i = 0; i < f->nclients; i++) {
		in_stream += f->clients[i].state == C_FRAMES;
		gone += !active(&f->clients[i]);
	}
	if (!in_stream || (f->o->clients && in_stream + gone < f->o->clients))
		return;
	f->started = true;
	f->start_ns = now_ns();
	f->faults = faults_now();
	if (!f->o->frames)
		f->deadline_ns = f->start_ns + (uint64_t)(f->o->duration * 1e9);
}

static bool accepting(const struct fanout *f)
{
	if (f->o->clients && f->accepted >= f->o->clients)
		return false;
	return !f->over;
}

static bool busy(const struct fanout *f)
{
	for (size_t i = 0; i < f->nclients; i++)
		if (active(&f->clients[i]))
			return true;
	return false;
}

static int make_ring(struct fanout *f)
{
	struct serve_make_ctx ctx = { .o = f->o, .client = 0 };
	char why[256];

	f->n = (uint32_t)f->o->count;
	f->objs = calloc(f->n, sizeof(*f->objs));
	f->holders = calloc(f->n, sizeof(*f->holders));
	f->frame = calloc(f->n, sizeof(*f->frame));
	if (!f->objs || !f->holders || !f->frame) {
		cli_err("out of memory for a ring of %" PRIu32 " buffers", f->n);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < f->n; i++)
		fdx_held_init(&f->objs[i]);
	/* one set for everyone: session 0 in the buffers' names */
	for (uint32_t i = 0; i < f->n; i++) {
		int r = serve_make_object(&ctx, i, &f->objs[i], why, sizeof(why));

		if (r == 0)
			r = fdx_held_seal(&f->objs[i]);
		if (r < 0) {
			cli_err("%s", r == -EINVAL || why[0] ? why : strerror(-r));
			return r;
		}
		f->frame[i] = i;
	}
	return 0;
}

int fanout_serve(int lfd, const struct serve_opts *o, struct json_object *jclients)
{
	struct fanout f = { .o = o };
	struct pollfd *pfd = NULL;
	int rc = FDX_EXIT_OK;

	f.so = (struct stream_opts){
		.frames = o->frames,
		.duration = o->duration,
		.fill = !o->no_fill,
		.seed = o->seed,
		.inject = o->inject,
		.flip_offset = o->flip_offset,
	};
	if (make_ring(&f) < 0) {
		rc = FDX_EXIT_SYSTEM;
		goto out;
	}
	/* accept() must not wait: the loop does the waiting, for everyone at once */
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	while (accepting(&f) || busy(&f)) {
		size_t np = 0,
		       polled = f.nclients; /* a client admitted below waits a turn */
		bool listening = accepting(&f);
		int timeout = 250;
		struct pollfd *n = realloc(pfd, (f.nclients + 1) * sizeof(*pfd));

		if (!n) {
			cli_err("out of memory for %zu clients", f.nclients);
			rc = FDX_EXIT_SYSTEM;
			break;
		}
		pfd = n;
		if (listening)
			pfd[np++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (size_t i = 0; i < f.nclients; i++)
			pfd[np++] =
				(struct pollfd){ .fd = f.clients[i].fd, .events = POLLIN };
		if (f.started && !f.over && takers(&f))
			timeout = 0; /* frames to hand out: only look at what came in */
		for (size_t i = 0; i < f.nclients; i++)
			if (fdx_session_buffered(&f.clients[i].s))
				timeout = 0;
		if (poll(pfd, np, timeout) < 0 && errno != EINTR) {
			cli_err("poll: %s", strerror(errno));
			rc = FDX_EXIT_SYSTEM;
			break;
		}
		np = 0;
		if (listening && (pfd[np++].revents & POLLIN)) {
			int conn;

			if (fdx_channel_accept(lfd, &conn) == 0 && admit(&f, conn) < 0) {
				cli_err("out of memory for another client");
				close(conn);
			}
		}
		for (size_t i = 0; i < polled; i++, np++) {
			struct client *c = &f.clients[i];

			if (c->fd >= 0 &&
			    ((pfd[np].revents & (POLLIN | POLLHUP | POLLERR)) ||
			     fdx_session_buffered(&c->s)))
				step(&f, c);
		}
		overdue(&f, now_ns());
		maybe_start(&f);
		if (f.started && !f.over) {
			/* as many frames as there are buffers and takers for, then listen
			 */
			while ((!f.o->frames || f.produced < f.o->frames) &&
			       (f.o->frames || now_ns() < f.deadline_ns) && dispatch(&f))
				;
			if ((f.o->frames && f.produced >= f.o->frames) ||
			    (!f.o->frames && now_ns() >= f.deadline_ns))
				f.over = true;
		}
		if (f.over)
			end_stream(&f);
		/* no stream: the server stops once its --clients are through */
		if (!serve_streaming(o) && o->clients && f.accepted >= o->clients &&
		    !busy(&f))
			break;
		if (serve_streaming(o) && f.started && f.over && !busy(&f))
			break;
	}
out:
	for (size_t i = 0; i < f.nclients; i++) {
		struct client *c = &f.clients[i];

		if (active(c)) /* cut short (no memory, poll failed): they ended with us */
			fail_client(&f, c, -ECONNABORTED);
		serve_report_client(&c->rep, false, jclients);
		if (c->rep.exit > rc)
			rc = c->rep.exit;
		fdx_session_cleanup(&c->s);
		free(c->holds);
		free(c->sent_ns);
	}
	for (uint32_t i = 0; f.objs && i < f.n; i++)
		fdx_held_release(&f.objs[i]);
	free(f.objs);
	free(f.holders);
	free(f.frame);
	free(f.clients);
	free(pfd);
	return rc;
}
