/* session.c - producer and consumer protocol state machines over one connection */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "channel.h"
#include "session.h"

/* exit-status style codes carried in ERROR messages (see fdx(1)) */
#define CODE_PROTOCOL 3
#define CODE_TIMEOUT  5

static const char *const state_wants[] = {
	[FDX_SS_HELLO] = "HELLO",    [FDX_SS_OBJECTS] = "OBJECT",
	[FDX_SS_ACK] = "OBJECT_ACK", [FDX_SS_BYE] = "BYE",
	[FDX_SS_BYE_REPLY] = "BYE",  [FDX_SS_DONE] = "nothing",
	[FDX_SS_FAILED] = "nothing", [FDX_SS_FRAMES] = "READY or RELEASE",
	[FDX_SS_STREAM_END] = "BYE",
};

void fdx_session_init(struct fdx_session *s, int fd, bool server,
		      const struct fdx_hello *local)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->server = server;
	s->local = *local;
	s->state = FDX_SS_HELLO;
}

int fdx_session_set_transport(struct fdx_session *s, unsigned transport)
{
	s->transport = transport;
	if (transport != FDX_TRANSPORT_STREAM || s->rx)
		return 0;
	s->rx = malloc(sizeof(*s->rx));
	if (!s->rx)
		return fdx_session_fail(s, -ENOMEM,
					"out of memory for a stream connection");
	fdx_stream_rx_init(s->rx);
	return 0;
}

int fdx_session_set_timeout(struct fdx_session *s, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	s->timeout_ms = ms;
	/* the backstop for what a poll cannot see: a message half sent, a full socket */
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return fdx_session_fail(s, -errno,
					"cannot set the timeouts of the connection: %s",
					strerror(errno));
	return 0;
}

/* Wait for the peer's next message: -ETIMEDOUT when it takes longer than the session
 * allows. */
static int wait_readable(struct fdx_session *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	int r;

	if (!s->timeout_ms || fdx_session_buffered(s))
		return 0;
	do
		r = poll(&p, 1, (int)s->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

bool fdx_session_buffered(const struct fdx_session *s)
{
	return s->rx && (s->rx->len > 0 || s->rx->nq > 0);
}

/* One message with its fds, framed the way the transport wants. */
static int channel_send(struct fdx_session *s, const void *buf, size_t len, const int *fds,
			unsigned nfds)
{
	if (s->transport == FDX_TRANSPORT_STREAM)
		return fdx_stream_send(s->fd, buf, len, fds, nfds);
	return fdx_channel_send(s->fd, buf, len, fds, nfds);
}

const char *fdx_session_error(const struct fdx_session *s)
{
	return s->err[0] ? s->err : "no error";
}

static int vfail(struct fdx_session *s, int err, const char *fmt, va_list ap)
{
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	s->state = FDX_SS_FAILED;
	return err;
}

int fdx_session_fail(struct fdx_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(s, err, fmt, ap);
	va_end(ap);
	return err;
}

/* A protocol violation by the peer: say so to the peer too, then give up. */
static int _printf_(3, 4) violation(struct fdx_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(s, err, fmt, ap);
	va_end(ap);
	fdx_session_send_error(s, CODE_PROTOCOL, s->err);
	return err;
}

static int send_msg(struct fdx_session *s, struct fdx_msg *m, const int *fds, unsigned nfds)
{
	uint8_t buf[FDX_MSG_MAX];
	int n, r;

	m->hdr.seq = s->seq_out;
	m->hdr.nfds = (uint16_t)nfds;
	n = fdx_msg_encode(m, buf, sizeof(buf));
	if (n < 0)
		return fdx_session_fail(s, n, "cannot encode %s: %s",
					fdx_msg_type_name(m->hdr.type), strerror(-n));
	r = channel_send(s, buf, (size_t)n, fds, nfds);
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return fdx_session_fail(
			s, -ETIMEDOUT,
			"the peer has not read for %.3g s: %s could not be sent",
			s->timeout_ms / 1e3, fdx_msg_type_name(m->hdr.type));
	if (r == -EPIPE || r == -ECONNRESET)
		return fdx_session_fail(
			s, r, "peer closed the connection before %s could be sent",
			fdx_msg_type_name(m->hdr.type));
	if (r < 0)
		return fdx_session_fail(s, r, "cannot send %s: %s",
					fdx_msg_type_name(m->hdr.type), strerror(-r));
	s->seq_out++;
	if (s->trace)
		s->trace(s->trace_ctx, true, m);
	return 0;
}

static const char *recv_strerror(int err, unsigned max_fds, char *buf, size_t cap)
{
	switch (err) {
	case -ENOBUFS:
		snprintf(buf, cap, "control data truncated: peer attached more than %u fds",
			 max_fds);
		return buf;
	case -ENODATA:
		return "empty record carrying fds";
	case -EMFILE:
		return "control data truncated: this process is out of file descriptors";
	case -EMSGSIZE:
		snprintf(buf, cap, "message longer than %u bytes", FDX_MSG_MAX);
		return buf;
	case -EPROTO:
		return "unexpected control message";
	case -EBADFD:
		return "fds came with a message that carries none";
	}
	return strerror(-err);
}

/*
 * Receive one message of type want (or ERROR). Everything the peer can get wrong is
 * checked here, and on any failure every fd that came with the message is closed.
 */
static int recv_msg2(struct fdx_session *s, unsigned want, unsigned want2,
		     struct fdx_msg *m, int *fds, unsigned *nfds)
{
	uint8_t buf[FDX_MSG_MAX];
	int tmp[FDX_MAX_PLANES];
	int *f = fds ? fds : tmp;
	unsigned n_f = 0;
	char why[96];
	ssize_t n;
	int r;

	if (nfds)
		*nfds = 0;
	/* what we announced is what we take; more is a protocol error, not a surprise */
	unsigned max_fds =
		s->local.max_fds < FDX_MAX_PLANES ? s->local.max_fds : FDX_MAX_PLANES;

	n = wait_readable(s);
	if (n == 0 && s->rx)
		n = fdx_stream_recv(s->fd, s->rx, buf, sizeof(buf), f, max_fds, &n_f);
	else if (n == 0)
		n = fdx_channel_recv(s->fd, buf, sizeof(buf), f, max_fds, &n_f);
	/* nothing within the timeout, or a message begun and never finished: say so */
	if (n == -ETIMEDOUT || n == -EAGAIN || n == -EWOULDBLOCK) {
		fdx_session_fail(s, -ETIMEDOUT,
				 "the peer sent nothing for %.3g s while %s was expected",
				 s->timeout_ms / 1e3, state_wants[s->state]);
		fdx_session_send_error(s, CODE_TIMEOUT, s->err);
		return -ETIMEDOUT;
	}
	if (n == 0)
		return fdx_session_fail(s, -ECONNRESET,
					"peer closed the connection while %s was expected",
					state_wants[s->state]);
	if (n == -EPIPE && s->rx)
		return fdx_session_fail(
			s, -ECONNRESET,
			"peer closed the connection in the middle of a message "
			"while %s was expected",
			state_wants[s->state]);
	if (n == -ECONNRESET)
		return fdx_session_fail(s, -ECONNRESET,
					"connection reset by peer while %s was expected",
					state_wants[s->state]);
	if (n < 0) {
		r = (int)n;
		if (r == -ENOBUFS || r == -EMSGSIZE || r == -EPROTO || r == -ENODATA ||
		    r == -EBADFD)
			return violation(s, r, "%s",
					 recv_strerror(r, max_fds, why, sizeof(why)));
		return fdx_session_fail(s, r, "cannot receive: %s",
					recv_strerror(r, max_fds, why, sizeof(why)));
	}

	r = fdx_msg_decode(buf, (size_t)n, n_f, m);
	if (r < 0) {
		struct fdx_hdr h;
		int hr = fdx_hdr_decode(buf, (size_t)n, &h);

		fdx_close_fds(f, n_f);
		if (r == -EBADMSG)
			return violation(s, r,
					 "bad magic 0x%08" PRIx32 " in a %zd-byte message",
					 h.magic, n);
		if (r == -EPROTONOSUPPORT)
			return violation(s, r, "peer speaks protocol %u.%u, this is %u.%u",
					 h.version_major, h.version_minor, FDX_PROTO_MAJOR,
					 FDX_PROTO_MINOR);
		if (hr == 0 && r == -EBADFD)
			return violation(s, r, "%s with %u fds received, header says %u",
					 fdx_msg_type_name(h.type), n_f, h.nfds);
		if (hr == 0 && r == -ENOMSG)
			return violation(s, r, "unknown message type %u", h.type);
		if (hr == 0)
			return violation(s, r, "bad %s message (%zd bytes): %s",
					 fdx_msg_type_name(h.type), n,
					 fdx_codec_strerror(r));
		return violation(s, r, "bad message (%zd bytes): %s", n,
				 fdx_codec_strerror(r));
	}
	if (s->trace)
		s->trace(s->trace_ctx, false, m);
	if (m->hdr.seq != s->seq_in) {
		fdx_close_fds(f, n_f);
		return violation(s, -EPROTO,
				 "%s has sequence number %" PRIu32 ", expected %" PRIu32,
				 fdx_msg_type_name(m->hdr.type), m->hdr.seq, s->seq_in);
	}
	s->seq_in++;
	if (m->hdr.type == FDX_MSG_ERROR) {
		fdx_close_fds(f, n_f);
		s->peer_error = m->u.error.code;
		return fdx_session_fail(s, -ECONNABORTED, "peer reported an error: %s",
					m->u.error.text);
	}
	if (m->hdr.type != want && (!want2 || m->hdr.type != want2)) {
		fdx_close_fds(f, n_f);
		return violation(s, -EPROTO, "unexpected %s while %s%s%s was expected",
				 fdx_msg_type_name(m->hdr.type), fdx_msg_type_name(want),
				 want2 ? " or " : "",
				 want2 ? fdx_msg_type_name(want2) : "");
	}
	if (!fds)
		fdx_close_fds(f, n_f); /* cannot happen: only OBJECT carries fds */
	else if (nfds)
		*nfds = n_f;
	return 0;
}

static int recv_msg(struct fdx_session *s, unsigned want, struct fdx_msg *m, int *fds,
		    unsigned *nfds)
{
	return recv_msg2(s, want, 0, m, fds, nfds);
}

static int bad_state(struct fdx_session *s, const char *what)
{
	if (s->state == FDX_SS_FAILED)
		return -EPROTO; /* keep the first reason */
	return fdx_session_fail(s, -EPROTO, "internal: %s while %s is due", what,
				state_wants[s->state]);
}

int fdx_session_greet(struct fdx_session *s)
{
	struct fdx_msg out = { .hdr.type = FDX_MSG_HELLO };
	int r;

	if (s->state != FDX_SS_HELLO || s->greeted)
		return bad_state(s, "handshake");
	if (!s->server)
		return 0; /* the client answers the server's HELLO */
	out.u.hello = s->local;
	r = send_msg(s, &out, NULL, 0);
	if (r < 0)
		return r;
	s->greeted = true;
	return 0;
}

int fdx_session_meet(struct fdx_session *s)
{
	struct fdx_msg out = { .hdr.type = FDX_MSG_HELLO };
	struct fdx_msg in;
	int r;

	if (s->state != FDX_SS_HELLO || (s->server && !s->greeted))
		return bad_state(s, "handshake");
	out.u.hello = s->local;
	r = recv_msg(s, FDX_MSG_HELLO, &in, NULL, NULL);
	if (r < 0)
		return r;
	if (in.u.hello.role == s->local.role)
		return violation(s, -EPROTO, "peer is a %s too; one side must be the %s",
				 fdx_role_name(in.u.hello.role),
				 s->local.role == FDX_ROLE_PRODUCER ? "consumer"
								    : "producer");
	s->peer = in.u.hello;
	s->peer_major = in.hdr.version_major;
	s->peer_minor = in.hdr.version_minor;
	if (!s->server) {
		r = send_msg(s, &out, NULL, 0);
		if (r < 0)
			return r;
	}
	s->state = FDX_SS_OBJECTS;
	return 0;
}

int fdx_session_handshake(struct fdx_session *s)
{
	int r = fdx_session_greet(s);

	return r < 0 ? r : fdx_session_meet(s);
}

/* The objects are in place: they are the ring of the stream that follows. */
static int start_frames(struct fdx_session *s)
{
	s->nbuffers = s->next_index;
	s->slots = calloc(s->nbuffers, sizeof(*s->slots));
	if (!s->slots)
		return fdx_session_fail(s, -ENOMEM,
					"out of memory for a ring of %" PRIu32 " buffers",
					s->nbuffers);
	s->inflight = 0;
	s->state = FDX_SS_FRAMES;
	return 0;
}

/* An OBJECT and its ACK are through: the next object, the BYEs, or the stream. */
static int object_done(struct fdx_session *s)
{
	if (!s->last_sent) {
		s->state = FDX_SS_OBJECTS;
		return 0;
	}
	if (s->stream)
		return start_frames(s);
	s->state = FDX_SS_BYE;
	return 0;
}

int fdx_session_send_object(struct fdx_session *s, struct fdx_object *o, const int *fds,
			    unsigned nfds, bool last)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT };
	int r;

	if (s->state != FDX_SS_OBJECTS || s->local.role != FDX_ROLE_PRODUCER)
		return bad_state(s, "OBJECT");
	if (s->next_index >= s->peer.max_objects)
		return fdx_session_fail(s, -E2BIG,
					"consumer accepts at most %" PRIu32 " objects",
					s->peer.max_objects);
	if (s->peer.max_size && o->size > s->peer.max_size)
		return fdx_session_fail(s, -EFBIG,
					"consumer accepts objects of at most %" PRIu64
					" bytes, object %" PRIu32 " has %" PRIu64,
					s->peer.max_size, s->next_index, o->size);
	if (nfds > s->peer.max_fds)
		return fdx_session_fail(
			s, -E2BIG, "consumer accepts at most %" PRIu32 " fds per message",
			s->peer.max_fds);
	if ((o->backend == FDX_BACKEND_COPY) != s->copy && s->next_index > 0)
		return fdx_session_fail(s, -EINVAL, "internal: copy and fd objects mixed");
	if (o->backend == FDX_BACKEND_COPY && s->transport == FDX_TRANSPORT_STREAM)
		return fdx_session_fail(s, -EOPNOTSUPP,
					"copy buffers need the seqpacket transport (DATA "
					"records)");
	if (o->backend == FDX_BACKEND_COPY && !(s->peer.caps & FDX_CAP_COPY))
		return fdx_session_fail(s, -EOPNOTSUPP,
					"consumer '%s' does not take copy buffers (no COPY "
					"capability)",
					s->peer.name);
	if (last && s->want_stream && !(s->peer.caps & FDX_CAP_STREAM))
		return fdx_session_fail(
			s, -EOPNOTSUPP,
			"consumer '%s' does not take streams (no STREAM capability)",
			s->peer.name);
	o->index = s->next_index;
	m.u.object = *o;
	m.hdr.flags = last ? FDX_HF_LAST : 0;
	if (last && s->want_stream)
		m.hdr.flags |= FDX_HF_STREAM;
	r = send_msg(s, &m, fds, nfds);
	if (r < 0)
		return r;
	s->last_sent = last;
	s->stream = last && s->want_stream;
	s->copy = o->backend == FDX_BACKEND_COPY;
	s->state = FDX_SS_ACK;
	return 0;
}

int fdx_session_recv_ack(struct fdx_session *s, struct fdx_object_ack *ack)
{
	struct fdx_msg m;
	int r;

	if (s->state != FDX_SS_ACK || s->local.role != FDX_ROLE_PRODUCER)
		return bad_state(s, "waiting for OBJECT_ACK");
	r = recv_msg(s, FDX_MSG_OBJECT_ACK, &m, NULL, NULL);
	if (r < 0)
		return r;
	if (m.u.ack.index != s->next_index)
		return violation(s, -EPROTO,
				 "OBJECT_ACK for object %" PRIu32 ", expected %" PRIu32,
				 m.u.ack.index, s->next_index);
	*ack = m.u.ack;
	s->next_index++;
	return object_done(s);
}

int fdx_session_recv_object(struct fdx_session *s, struct fdx_object *o, int *fds,
			    unsigned *nfds, bool *last)
{
	struct fdx_msg m;
	int r;

	*nfds = 0;
	if (s->state != FDX_SS_OBJECTS || s->local.role != FDX_ROLE_CONSUMER)
		return bad_state(s, "waiting for OBJECT");
	r = recv_msg(s, FDX_MSG_OBJECT, &m, fds, nfds);
	if (r < 0)
		return r;
	if (m.u.object.index != s->next_index) {
		fdx_close_fds(fds, *nfds);
		*nfds = 0;
		return violation(s, -EPROTO,
				 "OBJECT with index %" PRIu32 ", expected %" PRIu32,
				 m.u.object.index, s->next_index);
	}
	if (s->next_index >= s->local.max_objects ||
	    (s->local.max_size && m.u.object.size > s->local.max_size)) {
		fdx_close_fds(fds, *nfds);
		*nfds = 0;
		return violation(s, -E2BIG,
				 "object %" PRIu32 " of %" PRIu64 " bytes is beyond the "
				 "announced limits (%" PRIu32 " objects, %" PRIu64
				 " bytes)",
				 m.u.object.index, m.u.object.size, s->local.max_objects,
				 s->local.max_size);
	}
	if ((m.hdr.flags & FDX_HF_STREAM) && !(s->local.caps & FDX_CAP_STREAM)) {
		fdx_close_fds(fds, *nfds);
		*nfds = 0;
		return violation(s, -EPROTO,
				 "a stream was announced, but this consumer does not take "
				 "streams");
	}
	if (m.u.object.backend == FDX_BACKEND_COPY &&
	    s->transport == FDX_TRANSPORT_STREAM) {
		fdx_close_fds(fds, *nfds);
		*nfds = 0;
		return violation(s, -EPROTO,
				 "copy buffer %" PRIu32 " over a stream connection (DATA "
				 "needs seqpacket)",
				 m.u.object.index);
	}
	if (m.u.object.backend == FDX_BACKEND_COPY &&
	    (!(s->local.caps & FDX_CAP_COPY) || (s->next_index > 0 && !s->copy))) {
		fdx_close_fds(fds, *nfds);
		*nfds = 0;
		return violation(
			s, -EPROTO, "copy buffer %" PRIu32 " %s", m.u.object.index,
			s->next_index > 0 && !s->copy
				? "among fd buffers"
				: "sent to a consumer without the COPY capability");
	}
	if (s->next_index > 0 && s->copy && m.u.object.backend != FDX_BACKEND_COPY) {
		fdx_close_fds(fds, *nfds);
		*nfds = 0;
		return violation(s, -EPROTO, "fd buffer %" PRIu32 " among copy buffers",
				 m.u.object.index);
	}
	s->copy = m.u.object.backend == FDX_BACKEND_COPY;
	*o = m.u.object;
	*last = m.hdr.flags & FDX_HF_LAST;
	s->last_sent = *last;
	s->stream = m.hdr.flags & FDX_HF_STREAM;
	s->state = FDX_SS_ACK;
	return 0;
}

int fdx_session_send_ack(struct fdx_session *s, const struct fdx_object_ack *ack)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT_ACK };
	int r;

	if (s->state != FDX_SS_ACK || s->local.role != FDX_ROLE_CONSUMER)
		return bad_state(s, "OBJECT_ACK");
	m.u.ack = *ack;
	m.u.ack.index = s->next_index;
	r = send_msg(s, &m, NULL, 0);
	if (r < 0)
		return r;
	s->next_index++;
	return object_done(s);
}

int fdx_session_send_bye(struct fdx_session *s, const struct fdx_bye *bye)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_BYE };
	bool consumer = s->local.role == FDX_ROLE_CONSUMER;
	int r;

	if (s->stream && !consumer) {
		/* a stream ends with the producer's BYE, once every buffer is back */
		if (s->state != FDX_SS_FRAMES || s->inflight)
			return bad_state(s, "BYE with buffers still out");
	} else if (s->state != (consumer ? FDX_SS_BYE : FDX_SS_BYE_REPLY)) {
		return bad_state(s, "BYE");
	}
	m.u.bye = *bye;
	r = send_msg(s, &m, NULL, 0);
	if (r < 0)
		return r;
	if (s->stream)
		s->state = consumer ? FDX_SS_DONE : FDX_SS_STREAM_END;
	else
		s->state = consumer ? FDX_SS_BYE_REPLY : FDX_SS_DONE;
	return 0;
}

int fdx_session_recv_bye(struct fdx_session *s, struct fdx_bye *bye)
{
	struct fdx_msg m;
	bool consumer = s->local.role == FDX_ROLE_CONSUMER;
	int r;

	if (s->stream && !consumer) {
		if (s->state != FDX_SS_STREAM_END)
			return bad_state(s, "waiting for BYE");
	} else if (s->state != (consumer ? FDX_SS_BYE_REPLY : FDX_SS_BYE)) {
		return bad_state(s, "waiting for BYE");
	}
	r = recv_msg(s, FDX_MSG_BYE, &m, NULL, NULL);
	if (r < 0)
		return r;
	*bye = m.u.bye;
	if (s->stream)
		s->state = FDX_SS_DONE;
	else
		s->state = consumer ? FDX_SS_DONE : FDX_SS_BYE_REPLY;
	return 0;
}

int fdx_session_send_ready(struct fdx_session *s, uint32_t buffer, uint64_t frame)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_READY };
	int r;

	if (s->state != FDX_SS_FRAMES || s->local.role != FDX_ROLE_PRODUCER)
		return bad_state(s, "READY");
	if (buffer >= s->nbuffers || s->slots[buffer].out)
		return fdx_session_fail(
			s, -EINVAL, "internal: READY for buffer %" PRIu32 ", which is %s",
			buffer, buffer >= s->nbuffers ? "not in the ring" : "out");
	m.u.ready.buffer = buffer;
	m.u.ready.frame = frame;
	r = send_msg(s, &m, NULL, 0);
	if (r < 0)
		return r;
	s->slots[buffer].out = true;
	s->slots[buffer].frame = frame;
	s->inflight++;
	return 0;
}

int fdx_session_recv_release(struct fdx_session *s, struct fdx_release *rel)
{
	const struct fdx_ring_slot *slot;
	struct fdx_msg m;
	int r;

	if (s->state != FDX_SS_FRAMES || s->local.role != FDX_ROLE_PRODUCER)
		return bad_state(s, "waiting for RELEASE");
	r = recv_msg(s, FDX_MSG_RELEASE, &m, NULL, NULL);
	if (r < 0)
		return r;
	*rel = m.u.release;
	if (rel->buffer >= s->nbuffers)
		return violation(s, -EPROTO,
				 "RELEASE of buffer %" PRIu32 ", the ring has %" PRIu32,
				 rel->buffer, s->nbuffers);
	slot = &s->slots[rel->buffer];
	if (!slot->out)
		return violation(s, -EPROTO,
				 "RELEASE of buffer %" PRIu32 ", which was not handed out",
				 rel->buffer);
	if (slot->frame != rel->frame)
		return violation(s, -EPROTO,
				 "RELEASE of buffer %" PRIu32 " for frame %" PRIu64
				 ", it holds frame %" PRIu64,
				 rel->buffer, rel->frame, slot->frame);
	s->slots[rel->buffer].out = false;
	s->inflight--;
	return 0;
}

/* Copy streams: is the next record a DATA? 1 yes, 0 no, or -errno. */
static int next_is_data(struct fdx_session *s)
{
	uint8_t head[FDX_HDR_SIZE];
	struct fdx_hdr h;
	ssize_t n = wait_readable(s);

	if (n == 0)
		n = fdx_channel_peek(s->fd, head, sizeof(head));
	if (n == -ETIMEDOUT || n == -EAGAIN)
		return fdx_session_fail(
			s, -ETIMEDOUT,
			"the peer sent nothing for %.3g s while DATA or READY "
			"was expected",
			s->timeout_ms / 1e3);
	if (n < 0)
		return fdx_session_fail(s, (int)n, "cannot receive: %s", strerror((int)-n));
	/* anything odd is left to the ordinary receive, which says what is wrong */
	if (n < (ssize_t)sizeof(head) || fdx_hdr_decode(head, sizeof(head), &h) < 0)
		return 0;
	return h.type == FDX_MSG_DATA;
}

/* Receive one DATA straight into the consumer's buffer, after checking where it goes. */
static int recv_data(struct fdx_session *s)
{
	uint8_t head[FDX_HDR_SIZE + FDX_DATA_HEAD];
	struct fdx_ring_slot *slot;
	struct fdx_msg m;
	ssize_t len = fdx_channel_peek(s->fd, head, sizeof(head));
	int r;

	if (len < 0)
		return fdx_session_fail(s, (int)len, "cannot receive: %s",
					strerror((int)-len));
	r = fdx_data_decode(head, (size_t)len, 0, &m);
	if (r < 0)
		return violation(s, r, "bad DATA message (%zd bytes): %s", len,
				 fdx_codec_strerror(r));
	if (m.hdr.seq != s->seq_in)
		return violation(s, -EPROTO,
				 "DATA has sequence number %" PRIu32 ", expected %" PRIu32,
				 m.hdr.seq, s->seq_in);
	if (m.u.data.buffer >= s->nbuffers)
		return violation(s, -EPROTO,
				 "DATA for buffer %" PRIu32 ", the ring has %" PRIu32,
				 m.u.data.buffer, s->nbuffers);
	slot = &s->slots[m.u.data.buffer];
	if (slot->out)
		return violation(s, -EPROTO,
				 "DATA for buffer %" PRIu32 ", which this consumer holds",
				 m.u.data.buffer);
	if (!slot->dst)
		return fdx_session_fail(s, -EINVAL,
					"internal: no memory for copy buffer %" PRIu32,
					m.u.data.buffer);
	if (m.u.data.offset != slot->filled || m.u.data.len > slot->size - slot->filled)
		return violation(s, -EPROTO,
				 "DATA for bytes %" PRIu64 "..%" PRIu64
				 " of buffer %" PRIu32 ", expected from %" PRIu64
				 " of its %" PRIu64,
				 m.u.data.offset, m.u.data.offset + m.u.data.len,
				 m.u.data.buffer, slot->filled, slot->size);
	len = fdx_channel_recv_into(s->fd, head, sizeof(head), slot->dst + m.u.data.offset,
				    m.u.data.len);
	if (len < 0)
		return violation(s, (int)len, "DATA: %s",
				 len == -ENOBUFS ? "fds attached" : strerror((int)-len));
	slot->filled += m.u.data.len;
	s->seq_in++;
	if (s->trace)
		s->trace(s->trace_ctx, false, &m);
	return 0;
}

int fdx_session_copy_target(struct fdx_session *s, uint32_t buffer, uint8_t *dst,
			    uint64_t size)
{
	if (s->state != FDX_SS_FRAMES || !s->copy || buffer >= s->nbuffers)
		return bad_state(s, "copy target");
	s->slots[buffer].dst = dst;
	s->slots[buffer].size = size;
	s->slots[buffer].filled = 0;
	return 0;
}

int fdx_session_send_data(struct fdx_session *s, uint32_t buffer, const void *bytes,
			  uint64_t size)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_DATA };
	uint8_t head[FDX_HDR_SIZE + FDX_DATA_HEAD];
	const uint8_t *p = bytes;
	int n, r;

	if (s->state != FDX_SS_FRAMES || !s->copy || s->local.role != FDX_ROLE_PRODUCER)
		return bad_state(s, "DATA");
	if (buffer >= s->nbuffers || s->slots[buffer].out)
		return fdx_session_fail(s, -EINVAL, "internal: DATA for buffer %" PRIu32,
					buffer);
	/* the whole buffer, in order, in records a SEQPACKET socket takes */
	for (uint64_t off = 0; off < size; off += m.u.data.len) {
		m.hdr.seq = s->seq_out;
		m.u.data.buffer = buffer;
		m.u.data.offset = off;
		m.u.data.len =
			(uint32_t)(size - off < FDX_DATA_MAX ? size - off : FDX_DATA_MAX);
		n = fdx_msg_encode(&m, head, sizeof(head));
		if (n < 0)
			return fdx_session_fail(s, n, "cannot encode DATA");
		r = fdx_channel_sendv(s->fd, head, (size_t)n, p + off, m.u.data.len);
		if (r == -EAGAIN)
			return fdx_session_fail(
				s, -ETIMEDOUT,
				"the peer has not read for %.3g s: DATA could not "
				"be sent",
				s->timeout_ms / 1e3);
		if (r == -EPIPE || r == -ECONNRESET)
			return fdx_session_fail(
				s, r,
				"peer closed the connection before DATA could "
				"be sent");
		if (r < 0)
			return fdx_session_fail(s, r, "cannot send DATA: %s", strerror(-r));
		s->seq_out++;
		if (s->trace)
			s->trace(s->trace_ctx, true, &m);
	}
	return 0;
}

int fdx_session_recv_frame(struct fdx_session *s, struct fdx_ready *ready, bool *ended,
			   struct fdx_bye *bye)
{
	struct fdx_msg m;
	int r;

	*ended = false;
	if (s->state != FDX_SS_FRAMES || s->local.role != FDX_ROLE_CONSUMER)
		return bad_state(s, "waiting for READY");
	/* a copy stream's frame bytes come first, straight into the consumer's memory */
	while (s->copy && (r = next_is_data(s)) > 0) {
		r = recv_data(s);
		if (r < 0)
			return r;
	}
	if (s->copy && r < 0)
		return r;
	r = recv_msg2(s, FDX_MSG_READY, FDX_MSG_BYE, &m, NULL, NULL);
	if (r < 0)
		return r;
	if (m.hdr.type == FDX_MSG_BYE) {
		if (s->inflight)
			return violation(s, -EPROTO,
					 "BYE while this consumer still holds %" PRIu32
					 " buffer%s",
					 s->inflight, s->inflight == 1 ? "" : "s");
		for (uint32_t b = 0; s->copy && b < s->nbuffers; b++)
			if (s->slots[b].filled)
				return violation(s, -EPROTO,
						 "BYE after %" PRIu64
						 " bytes of buffer %" PRIu32
						 " that no READY followed",
						 s->slots[b].filled, b);
		*bye = m.u.bye;
		*ended = true;
		s->state = FDX_SS_BYE;
		return 0;
	}
	*ready = m.u.ready;
	if (ready->buffer >= s->nbuffers)
		return violation(s, -EPROTO,
				 "READY for buffer %" PRIu32 ", the ring has %" PRIu32,
				 ready->buffer, s->nbuffers);
	if (s->slots[ready->buffer].out)
		return violation(s, -EPROTO,
				 "READY for buffer %" PRIu32 " (frame %" PRIu64
				 ") before its RELEASE (frame %" PRIu64 ")",
				 ready->buffer, ready->frame,
				 s->slots[ready->buffer].frame);
	if (s->copy && s->slots[ready->buffer].filled != s->slots[ready->buffer].size)
		return violation(s, -EPROTO,
				 "READY for buffer %" PRIu32 " after %" PRIu64
				 " of its %" PRIu64 " bytes",
				 ready->buffer, s->slots[ready->buffer].filled,
				 s->slots[ready->buffer].size);
	s->slots[ready->buffer].filled = 0;
	s->slots[ready->buffer].out = true;
	s->slots[ready->buffer].frame = ready->frame;
	s->inflight++;
	return 0;
}

int fdx_session_send_release(struct fdx_session *s, const struct fdx_release *rel)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_RELEASE };
	int r;

	if (s->state != FDX_SS_FRAMES || s->local.role != FDX_ROLE_CONSUMER)
		return bad_state(s, "RELEASE");
	if (rel->buffer >= s->nbuffers || !s->slots[rel->buffer].out)
		return fdx_session_fail(s, -EINVAL,
					"internal: RELEASE of buffer %" PRIu32
					", which this consumer does not hold",
					rel->buffer);
	m.u.release = *rel;
	m.u.release.frame = s->slots[rel->buffer].frame;
	r = send_msg(s, &m, NULL, 0);
	if (r < 0)
		return r;
	s->slots[rel->buffer].out = false;
	s->inflight--;
	return 0;
}

void fdx_session_cleanup(struct fdx_session *s)
{
	if (s->rx) {
		fdx_stream_rx_release(s->rx);
		free(s->rx);
		s->rx = NULL;
	}
	free(s->slots);
	s->slots = NULL;
	s->nbuffers = 0;
}

void fdx_session_send_error(struct fdx_session *s, uint32_t code, const char *text)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_ERROR };
	uint8_t buf[FDX_MSG_MAX];
	int n;

	m.hdr.seq = s->seq_out;
	m.u.error.code = code;
	snprintf(m.u.error.text, sizeof(m.u.error.text), "%s", text);
	n = fdx_msg_encode(&m, buf, sizeof(buf));
	/* best effort: the peer may be gone already, which is fine */
	if (n > 0 && channel_send(s, buf, (size_t)n, NULL, 0) == 0) {
		s->seq_out++;
		if (s->trace)
			s->trace(s->trace_ctx, true, &m);
	}
	s->state = FDX_SS_FAILED;
}
