/* test-session.c - unit tests of the session state machines, objects and hostile peers */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer.h"
#include "channel.h"
#include "codec.h"
#include "object.h"
#include "pattern.h"
#include "session.h"
#include "test-common.h"

#define SEED 0xfeedull

static struct fdx_hello hello_of(unsigned role, const char *name)
{
	struct fdx_hello h = {
		.role = (uint8_t)role,
		.caps = FDX_CAP_PATTERN,
		.pid = (uint32_t)getpid(),
		.max_fds = FDX_MAX_PLANES,
		.max_objects = 16,
	};

	snprintf(h.name, sizeof(h.name), "%s", name);
	return h;
}

static void pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* A sealed buffer of size bytes with the pattern of (SEED, frame), and its object. */
static void make_object(struct fdx_buffer *b, struct fdx_object *o, uint64_t size,
			uint64_t frame)
{
	struct fdx_pattern p;

	ck_assert_int_eq(fdx_buffer_create(b, "fdx-session", size, 0), 0);
	fdx_pattern_init(&p, SEED, frame);
	fdx_pattern_fill(&p, b->map, size, 0);
	ck_assert_int_eq(fdx_buffer_seal(b), 0);
	fdx_object_raw(o, size, FDX_BACKEND_MEMFD, SEED, frame);
}

/* ---- raw peer helpers: what fdx itself would never send ---- */

static void raw_send(int fd, struct fdx_msg *m, const int *fds, unsigned nfds)
{
	uint8_t buf[FDX_MSG_MAX];
	int n = fdx_msg_encode(m, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(tc_send_raw(fd, buf, (size_t)n, fds, nfds), n);
}

static void raw_hello(int fd, uint32_t seq, unsigned role)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_HELLO, .hdr.seq = seq };

	m.u.hello = hello_of(role, "raw-peer");
	raw_send(fd, &m, NULL, 0);
}

/* An OBJECT for index with one sealed buffer of 4096 bytes attached. */
static void raw_object(int fd, uint32_t seq, uint32_t index, bool last)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.seq = seq, .hdr.nfds = 1 };
	struct fdx_buffer b;

	make_object(&b, &m.u.object, 4096, index);
	m.u.object.index = index;
	m.hdr.flags = last ? FDX_HF_LAST : 0;
	raw_send(fd, &m, &b.fd, 1);
	fdx_buffer_release(&b);
}

static void raw_simple(int fd, unsigned type, uint32_t seq)
{
	struct fdx_msg m = { .hdr.type = (uint16_t)type, .hdr.seq = seq };

	if (type == FDX_MSG_OBJECT_ACK)
		m.u.ack.first_mismatch = FDX_NO_OFFSET;
	raw_send(fd, &m, NULL, 0);
}

static void raw_error(int fd, uint32_t seq, uint32_t code, const char *text)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_ERROR, .hdr.seq = seq };

	m.u.error.code = code;
	snprintf(m.u.error.text, sizeof(m.u.error.text), "%s", text);
	raw_send(fd, &m, NULL, 0);
}

/* Read what the session sent; it must decode. fds that came are closed. */
static struct fdx_msg raw_recv(int fd)
{
	uint8_t buf[FDX_MSG_MAX];
	struct fdx_msg m;
	unsigned nfds;
	ssize_t n = tc_recv_raw(fd, buf, sizeof(buf), &nfds, MSG_DONTWAIT);
	int r;

	ck_assert_msg(n > 0, "nothing to read from the session: %zd", n);
	r = fdx_msg_decode(buf, (size_t)n, nfds, &m);
	ck_assert_msg(r == 0, "the session sent an undecodable message: %d", r);
	return m;
}

/* The failure contract: negative errno, a reason in words, the session finished. */
static void expect_failed(struct fdx_session *s, int r, const char *what)
{
	struct fdx_session fresh;
	struct fdx_hello h = hello_of(FDX_ROLE_CONSUMER, "fresh");

	fdx_session_init(&fresh, -1, false, &h);
	ck_assert_msg(r < 0, "%s: the call returned %d", what, r);
	ck_assert_ptr_nonnull(fdx_session_error(s));
	ck_assert_msg(fdx_session_error(s)[0] != '\0' &&
			      strcmp(fdx_session_error(s), fdx_session_error(&fresh)) != 0,
		      "%s: no reason given (error text '%s')", what, fdx_session_error(s));
	ck_assert_msg(s->state == FDX_SS_FAILED, "%s: state %u after a failure", what,
		      s->state);
}

/* A consumer session (the client) on fd. */
static void consumer_on(struct fdx_session *s, int fd)
{
	struct fdx_hello h = hello_of(FDX_ROLE_CONSUMER, "test-consumer");

	fdx_session_init(s, fd, false, &h);
}

static void producer_on(struct fdx_session *s, int fd)
{
	struct fdx_hello h = hello_of(FDX_ROLE_PRODUCER, "test-producer");

	fdx_session_init(s, fd, true, &h);
}

/*
 * The consumer side of a pair whose raw producer end has already been written to:
 * the handshake must pass and the next OBJECT must be refused, handing out no fd.
 * Closes both ends.
 */
static void expect_object_refused(int sv[2], const char *what)
{
	struct fdx_session s;
	struct fdx_object o;
	int fds[FDX_MAX_PLANES];
	unsigned nfds = 99;
	bool last;

	consumer_on(&s, sv[0]);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	expect_failed(&s, fdx_session_recv_object(&s, &o, fds, &nfds, &last), what);
	ck_assert_uint_eq(nfds, 0);
	close(sv[0]);
	close(sv[1]);
}

/* The same for a handshake that must be refused (producer: the session is the server). */
static void expect_handshake_refused(int sv[2], bool producer, const char *what)
{
	struct fdx_session s;

	if (producer)
		producer_on(&s, sv[0]);
	else
		consumer_on(&s, sv[0]);
	expect_failed(&s, fdx_session_handshake(&s), what);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the whole exchange, producer in a child process ---- */

struct producer_args {
	int fd;
	unsigned nobjects;
	int corrupt; /* index of the object with one wrong byte, -1 for none */
};

static uint64_t object_size(unsigned i)
{
	return 4096u * i + 1000u + i;
}

static int producer_child(void *arg)
{
	const struct producer_args *a = arg;
	struct fdx_session s;
	struct fdx_bye bye, mine = { .objects = a->nobjects };
	int r;

	producer_on(&s, a->fd);
	r = fdx_session_handshake(&s);
	tc_child_assert(r == 0, "handshake: %d (%s)", r, fdx_session_error(&s));
	tc_child_assert(s.peer.role == FDX_ROLE_CONSUMER, "peer role %u", s.peer.role);
	tc_child_assert(strcmp(s.peer.name, "test-consumer") == 0, "peer '%s'",
			s.peer.name);
	tc_child_assert(s.peer.pid == (uint32_t)getppid(), "peer pid %u", s.peer.pid);

	for (unsigned i = 0; i < a->nobjects; i++) {
		struct fdx_object_ack ack;
		struct fdx_buffer b;
		struct fdx_object o;
		uint64_t size = object_size(i);

		make_object(&b, &o, size, i);
		if ((int)i == a->corrupt) {
			/* sealed against resizing, not writing: the producer's own bug */
			b.map[size / 2] ^= 0x01;
		}
		r = fdx_session_send_object(&s, &o, &b.fd, 1, i + 1 == a->nobjects);
		tc_child_assert(r == 0, "send object %u: %d (%s)", i, r,
				fdx_session_error(&s));
		tc_child_assert(o.index == i, "object index set to %u, expected %u",
				o.index, i);
		r = fdx_session_recv_ack(&s, &ack);
		tc_child_assert(r == 0, "ack %u: %d (%s)", i, r, fdx_session_error(&s));
		tc_child_assert(ack.index == i, "ack for %u, expected %u", ack.index, i);
		if ((int)i == a->corrupt) {
			tc_child_assert(ack.verdict == FDX_VERDICT_MISMATCH, "verdict %u",
					ack.verdict);
			tc_child_assert(ack.first_mismatch == size / 2,
					"first mismatch %lu",
					(unsigned long)ack.first_mismatch);
			tc_child_assert(ack.mismatched_bytes == 1, "%lu bytes",
					(unsigned long)ack.mismatched_bytes);
		} else {
			tc_child_assert(ack.verdict == FDX_VERDICT_OK,
					"object %u verdict %u", i, ack.verdict);
		}
		fdx_buffer_release(&b);
	}
	r = fdx_session_recv_bye(&s, &bye);
	tc_child_assert(r == 0, "recv bye: %d (%s)", r, fdx_session_error(&s));
	tc_child_assert(bye.objects == a->nobjects, "consumer counted %lu objects",
			(unsigned long)bye.objects);
	tc_child_assert(bye.mismatches == (a->corrupt >= 0),
			"consumer counted %lu mismatches", (unsigned long)bye.mismatches);
	r = fdx_session_send_bye(&s, &mine);
	tc_child_assert(r == 0, "send bye: %d (%s)", r, fdx_session_error(&s));
	tc_child_assert(s.state == FDX_SS_DONE, "state %u at the end", s.state);
	return 0;
}

struct trace_count {
	unsigned sent[FDX_MSG_TYPE_MAX + 1];
	unsigned received[FDX_MSG_TYPE_MAX + 1];
};

static void count_trace(void *ctx, bool sent, const struct fdx_msg *m)
{
	struct trace_count *t = ctx;

	ck_assert_uint_le(m->hdr.type, FDX_MSG_TYPE_MAX);
	if (sent)
		t->sent[m->hdr.type]++;
	else
		t->received[m->hdr.type]++;
}

static void run_exchange(unsigned nobjects, int corrupt)
{
	struct producer_args a = { .nobjects = nobjects, .corrupt = corrupt };
	struct trace_count tr = { { 0 }, { 0 } };
	struct fdx_session s;
	struct fdx_bye bye = { .objects = nobjects }, theirs;
	unsigned got = 0;
	bool last = false;
	int sv[2];
	pid_t pid;

	pair(sv);
	a.fd = sv[0];
	pid = tc_fork(producer_child, &a);
	close(sv[0]);

	consumer_on(&s, sv[1]);
	s.trace = count_trace;
	s.trace_ctx = &tr;
	ck_assert_msg(fdx_session_handshake(&s) == 0, "handshake: %s",
		      fdx_session_error(&s));
	ck_assert_uint_eq(s.peer.role, FDX_ROLE_PRODUCER);
	ck_assert_str_eq(s.peer.name, "test-producer");
	ck_assert_uint_eq(s.peer.pid, (uint32_t)pid);

	while (!last) {
		struct fdx_held held;
		struct fdx_object_result res;
		struct fdx_object_ack ack;
		struct fdx_object o;
		int fds[FDX_MAX_PLANES];
		unsigned nfds = 0, verdict;
		char err[256] = "";
		int r;

		ck_assert_msg(fdx_session_recv_object(&s, &o, fds, &nfds, &last) == 0,
			      "recv object %u: %s", got, fdx_session_error(&s));
		ck_assert_uint_eq(nfds, 1);
		ck_assert_uint_eq(o.index, got);
		ck_assert_uint_eq(o.size, object_size(got));
		ck_assert_uint_eq(o.frame, got);
		ck_assert(tc_is_cloexec(fds[0]));
		r = fdx_held_import(&held, &o, fds, nfds, 0, err, sizeof(err));
		ck_assert_msg(r == 0, "import object %u: %s", got, err);
		verdict = fdx_held_verify(&held, &res);
		if ((int)got == corrupt) {
			ck_assert_uint_eq(verdict, FDX_VERDICT_MISMATCH);
			ck_assert_uint_eq(res.total.first_mismatch, o.size / 2);
			ck_assert_uint_eq(res.total.mismatched_bytes, 1);
			bye.mismatches++;
		} else {
			ck_assert_uint_eq(verdict, FDX_VERDICT_OK);
			ck_assert_uint_eq(res.total.first_mismatch, FDX_NO_OFFSET);
		}
		ack = (struct fdx_object_ack){ .index = o.index,
					       .verdict = verdict,
					       .first_mismatch = res.total.first_mismatch,
					       .mismatched_bytes =
						       res.total.mismatched_bytes };
		ck_assert_msg(fdx_session_send_ack(&s, &ack) == 0, "ack %u: %s", got,
			      fdx_session_error(&s));
		fdx_held_release(&held);
		got++;
	}
	ck_assert_uint_eq(got, nobjects);
	ck_assert_msg(fdx_session_send_bye(&s, &bye) == 0, "bye: %s",
		      fdx_session_error(&s));
	ck_assert_msg(fdx_session_recv_bye(&s, &theirs) == 0, "bye: %s",
		      fdx_session_error(&s));
	ck_assert_uint_eq(theirs.objects, nobjects);
	ck_assert_uint_eq(s.state, FDX_SS_DONE);
	close(sv[1]);
	tc_wait_child(pid, 0);

	ck_assert_uint_eq(tr.sent[FDX_MSG_HELLO], 1);
	ck_assert_uint_eq(tr.sent[FDX_MSG_OBJECT_ACK], nobjects);
	ck_assert_uint_eq(tr.sent[FDX_MSG_BYE], 1);
	ck_assert_uint_eq(tr.received[FDX_MSG_HELLO], 1);
	ck_assert_uint_eq(tr.received[FDX_MSG_OBJECT], nobjects);
	ck_assert_uint_eq(tr.received[FDX_MSG_BYE], 1);
}

START_TEST(exchange_three_objects)
{
	signal(SIGPIPE, SIG_DFL);
	run_exchange(3, -1);
}
END_TEST

START_TEST(exchange_reports_mismatch)
{
	run_exchange(3, 1);
}
END_TEST

START_TEST(exchange_single_object)
{
	run_exchange(1, -1);
}
END_TEST

/* What a session puts on the wire, read by a raw peer: numbering, flags, no fds. */
START_TEST(consumer_wire_conformance)
{
	struct fdx_session s;
	struct fdx_object o;
	struct fdx_msg m;
	struct fdx_bye bye = { .objects = 1, .bytes = 4096 }, theirs;
	struct fdx_object_ack ack = { 0, FDX_VERDICT_OK, FDX_NO_OFFSET, 0 };
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds;
	bool last = false;

	pair(sv);
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_HELLO);
	ck_assert_uint_eq(m.hdr.seq, 0);
	ck_assert_uint_eq(m.hdr.nfds, 0);
	ck_assert_uint_eq(m.u.hello.role, FDX_ROLE_CONSUMER);
	ck_assert_str_eq(m.u.hello.name, "test-consumer");

	raw_object(sv[1], 1, 0, true);
	ck_assert_int_eq(fdx_session_recv_object(&s, &o, fds, &nfds, &last), 0);
	ck_assert_uint_eq(nfds, 1);
	ck_assert(last);
	ck_assert_uint_eq(o.size, 4096);
	fdx_close_fds(fds, nfds);
	ck_assert_int_eq(fdx_session_send_ack(&s, &ack), 0);
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_OBJECT_ACK);
	ck_assert_uint_eq(m.hdr.seq, 1);
	ck_assert_uint_eq(m.u.ack.index, 0);
	ck_assert_uint_eq(m.u.ack.verdict, FDX_VERDICT_OK);

	ck_assert_int_eq(fdx_session_send_bye(&s, &bye), 0);
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_BYE);
	ck_assert_uint_eq(m.hdr.seq, 2);
	ck_assert_uint_eq(m.u.bye.objects, 1);
	ck_assert_uint_eq(m.u.bye.bytes, 4096);
	raw_simple(sv[1], FDX_MSG_BYE, 2);
	ck_assert_int_eq(fdx_session_recv_bye(&s, &theirs), 0);
	ck_assert_uint_eq(s.state, FDX_SS_DONE);
	/* nothing else was sent */
	ck_assert_int_eq(recv(sv[1], &m, sizeof(m), MSG_DONTWAIT), -1);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(producer_wire_conformance)
{
	struct fdx_session s;
	struct fdx_buffer b;
	struct fdx_object o;
	struct fdx_object_ack ack;
	struct fdx_bye bye = { .objects = 1 }, theirs;
	struct fdx_msg m;
	int sv[2];

	pair(sv);
	producer_on(&s, sv[0]);
	/* the client's HELLO may be queued before the server speaks */
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_HELLO);
	ck_assert_uint_eq(m.hdr.seq, 0);
	ck_assert_uint_eq(m.u.hello.role, FDX_ROLE_PRODUCER);

	make_object(&b, &o, 5000, 7);
	o.index = 99; /* the session numbers objects itself */
	ck_assert_int_eq(fdx_session_send_object(&s, &o, &b.fd, 1, true), 0);
	fdx_buffer_release(&b);
	{
		uint8_t buf[FDX_MSG_MAX];
		unsigned nfds;
		ssize_t n = tc_recv_raw(sv[1], buf, sizeof(buf), &nfds, MSG_DONTWAIT);

		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq(nfds, 1);
		ck_assert_int_eq(fdx_msg_decode(buf, (size_t)n, nfds, &m), 0);
	}
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_OBJECT);
	ck_assert_uint_eq(m.hdr.seq, 1);
	ck_assert_uint_eq(m.hdr.flags, FDX_HF_LAST);
	ck_assert_uint_eq(m.u.object.index, 0);
	ck_assert_uint_eq(m.u.object.size, 5000);
	ck_assert_uint_eq(m.u.object.frame, 7);

	m = (struct fdx_msg){ .hdr.type = FDX_MSG_OBJECT_ACK, .hdr.seq = 1 };
	m.u.ack.first_mismatch = FDX_NO_OFFSET;
	raw_send(sv[1], &m, NULL, 0);
	ck_assert_int_eq(fdx_session_recv_ack(&s, &ack), 0);
	ck_assert_uint_eq(ack.index, 0);
	raw_simple(sv[1], FDX_MSG_BYE, 2);
	ck_assert_int_eq(fdx_session_recv_bye(&s, &theirs), 0);
	ck_assert_int_eq(fdx_session_send_bye(&s, &bye), 0);
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_BYE);
	ck_assert_uint_eq(m.hdr.seq, 2);
	ck_assert_uint_eq(s.state, FDX_SS_DONE);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A peer of a newer minor version appends fields: the handshake goes on and says so. */
START_TEST(hello_newer_minor)
{
	struct fdx_session s;
	uint8_t buf[FDX_MSG_MAX];
	struct fdx_msg m = { .hdr.type = FDX_MSG_HELLO };
	int sv[2], n;

	pair(sv);
	consumer_on(&s, sv[0]);
	m.u.hello = hello_of(FDX_ROLE_PRODUCER, "newer");
	n = fdx_msg_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	buf[5] = FDX_PROTO_MINOR + 3;
	memset(buf + n, 0x11, 40);
	tc_put32(buf, 12, (uint32_t)(n - FDX_HDR_SIZE + 40));
	ck_assert_int_eq(tc_send_raw(sv[1], buf, (size_t)n + 40, NULL, 0), n + 40);
	ck_assert_msg(fdx_session_handshake(&s) == 0, "handshake with minor %d: %s",
		      FDX_PROTO_MINOR + 3, fdx_session_error(&s));
	ck_assert_uint_eq(s.peer_major, FDX_PROTO_MAJOR);
	ck_assert_uint_eq(s.peer_minor, FDX_PROTO_MINOR + 3);
	ck_assert_str_eq(s.peer.name, "newer");
	/* this side still speaks its own version */
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.version_minor, FDX_PROTO_MINOR);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- hostile peers against a consumer ---- */

START_TEST(object_before_hello)
{
	int sv[2];

	pair(sv);
	raw_object(sv[1], 0, 0, false);
	expect_handshake_refused(sv, false, "OBJECT before HELLO");
}
END_TEST

START_TEST(second_hello)
{
	int sv[2];

	pair(sv);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_hello(sv[1], 1, FDX_ROLE_PRODUCER);
	expect_object_refused(sv, "second HELLO");
}
END_TEST

START_TEST(hello_same_role)
{
	int sv[2];

	pair(sv);
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
	expect_handshake_refused(sv, false, "consumer meets consumer");

	pair(sv);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	expect_handshake_refused(sv, true, "producer meets producer");
}
END_TEST

START_TEST(hello_other_major)
{
	uint8_t buf[FDX_MSG_MAX];
	struct fdx_msg m = { .hdr.type = FDX_MSG_HELLO };
	int sv[2], n;

	pair(sv);
	m.u.hello = hello_of(FDX_ROLE_PRODUCER, "future");
	n = fdx_msg_encode(&m, buf, sizeof(buf));
	buf[4] = FDX_PROTO_MAJOR + 1;
	ck_assert_int_eq(tc_send_raw(sv[1], buf, (size_t)n, NULL, 0), n);
	expect_handshake_refused(sv, false, "HELLO of protocol 2");
}
END_TEST

START_TEST(wrong_sequence)
{
	static const uint32_t bad_seqs[] = { 0, 2, 5, UINT32_MAX };
	int sv[2];

	/* HELLO must be number 0 */
	pair(sv);
	raw_hello(sv[1], 1, FDX_ROLE_PRODUCER);
	expect_handshake_refused(sv, false, "HELLO with seq 1");

	/* and the first OBJECT number 1; the fd it carries must be closed */
	for (unsigned i = 0; i < sizeof(bad_seqs) / sizeof(bad_seqs[0]); i++) {
		pair(sv);
		raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
		raw_object(sv[1], bad_seqs[i], 0, true);
		expect_object_refused(sv, "OBJECT with a wrong seq");
	}
}
END_TEST

START_TEST(object_index_one_first)
{
	int sv[2];

	pair(sv);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_object(sv[1], 1, 1, false);
	expect_object_refused(sv, "OBJECT index 1");
}
END_TEST

START_TEST(bye_before_object)
{
	int sv[2];

	pair(sv);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_simple(sv[1], FDX_MSG_BYE, 1);
	expect_object_refused(sv, "BYE first");
}
END_TEST

START_TEST(hello_with_fd)
{
	struct fdx_session s;
	struct fdx_msg m = { .hdr.type = FDX_MSG_HELLO };
	int sv[2], fd;

	/* the header admits the fd */
	pair(sv);
	fd = tc_memfd("fdx-stowaway", 4096);
	m.u.hello = hello_of(FDX_ROLE_PRODUCER, "raw");
	m.hdr.nfds = 1;
	raw_send(sv[1], &m, &fd, 1);
	expect_handshake_refused(sv, false, "HELLO with an admitted fd");

	/* the header is silent about it */
	pair(sv);
	consumer_on(&s, sv[0]);
	m.hdr.nfds = 0;
	raw_send(sv[1], &m, &fd, 1);
	expect_failed(&s, fdx_session_handshake(&s), "HELLO with a stowaway fd");
	close(fd);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(object_with_too_many_fds)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.seq = 1 };
	struct fdx_buffer b;
	int sv[2], fds[FDX_MAX_PLANES + 2];

	pair(sv);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	make_object(&b, &m.u.object, 4096, 0);
	m.hdr.nfds = FDX_MAX_PLANES + 2;
	for (unsigned i = 0; i < FDX_MAX_PLANES + 2; i++)
		fds[i] = b.fd;
	raw_send(sv[1], &m, fds, FDX_MAX_PLANES + 2);
	fdx_buffer_release(&b);
	expect_object_refused(sv, "six fds");
}
END_TEST

START_TEST(garbage_bytes)
{
	uint8_t junk[50];
	int sv[2], fd;

	srand(77);
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	pair(sv);
	ck_assert_int_eq(tc_send_raw(sv[1], junk, sizeof(junk), NULL, 0),
			 (ssize_t)sizeof(junk));
	expect_handshake_refused(sv, false, "50 random bytes");

	/* a few bytes with an fd attached */
	pair(sv);
	fd = tc_memfd("fdx-junk", 10);
	ck_assert_int_eq(tc_send_raw(sv[1], "FDX", 3, &fd, 1), 3);
	close(fd);
	expect_handshake_refused(sv, true, "3 bytes and an fd");
}
END_TEST

/* An empty record looks like the end of the stream; its fds must not survive it. */
START_TEST(empty_record_with_fds)
{
	struct fdx_session s;
	struct fdx_object o;
	int sv[2], fds[FDX_MAX_PLANES], fd;
	unsigned nfds = 99;
	bool last;
	int r, before;

	pair(sv);
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	fd = tc_memfd("fdx-empty", 4096);
	ck_assert_int_eq(tc_send_raw(sv[1], "", 0, (int[]){ fd, fd }, 2), 0);
	close(fd);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	before = tc_count_fds();
	r = fdx_session_recv_object(&s, &o, fds, &nfds, &last);
	expect_failed(&s, r, "empty record with 2 fds");
	ck_assert_msg(tc_count_fds() == before, "empty record with 2 fds: %d fds left open",
		      tc_count_fds() - before);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(peer_closes_mid_session)
{
	struct fdx_session s;
	struct fdx_object o;
	struct fdx_buffer b;
	struct fdx_object_ack ack;
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds = 99;
	bool last;

	signal(SIGPIPE, SIG_DFL);
	/* consumer waiting for an OBJECT */
	pair(sv);
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	close(sv[1]);
	expect_failed(&s, fdx_session_recv_object(&s, &o, fds, &nfds, &last), "peer gone");
	close(sv[0]);

	/* producer waiting for an ACK */
	pair(sv);
	producer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	make_object(&b, &o, 4096, 0);
	ck_assert_int_eq(fdx_session_send_object(&s, &o, &b.fd, 1, true), 0);
	close(sv[1]);
	expect_failed(&s, fdx_session_recv_ack(&s, &ack), "peer gone before ACK");
	close(sv[0]);

	/* producer sending to a peer that is gone: an error, not SIGPIPE */
	pair(sv);
	producer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	close(sv[1]);
	expect_failed(&s, fdx_session_send_object(&s, &o, &b.fd, 1, true),
		      "send to nobody");
	fdx_buffer_release(&b);
	close(sv[0]);

	/* gone before HELLO */
	pair(sv);
	consumer_on(&s, sv[0]);
	close(sv[1]);
	expect_failed(&s, fdx_session_handshake(&s), "nobody there");
	close(sv[0]);
}
END_TEST

START_TEST(error_from_peer)
{
	struct fdx_session s;
	struct fdx_object o;
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds;
	bool last;

	pair(sv);
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_error(sv[1], 1, 4, "disk on fire");
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	expect_failed(&s, fdx_session_recv_object(&s, &o, fds, &nfds, &last), "ERROR");
	ck_assert_msg(strstr(fdx_session_error(&s), "disk on fire"),
		      "the peer's text is missing from '%s'", fdx_session_error(&s));
	ck_assert_uint_eq(s.peer_error, 4);
	close(sv[0]);
	close(sv[1]);

	/* instead of a HELLO */
	pair(sv);
	consumer_on(&s, sv[0]);
	raw_error(sv[1], 0, 3, "too many clients");
	expect_failed(&s, fdx_session_handshake(&s), "ERROR instead of HELLO");
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "too many clients"));
	ck_assert_uint_eq(s.peer_error, 3);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(object_after_last)
{
	struct fdx_session s;
	struct fdx_object o;
	struct fdx_object_ack ack = { .verdict = FDX_VERDICT_UNCHECKED,
				      .first_mismatch = FDX_NO_OFFSET };
	struct fdx_bye bye = { 0 }, theirs;
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds;
	bool last = false;

	pair(sv);
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_object(sv[1], 1, 0, true);
	raw_object(sv[1], 2, 1, false);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	ck_assert_int_eq(fdx_session_recv_object(&s, &o, fds, &nfds, &last), 0);
	ck_assert(last);
	fdx_close_fds(fds, nfds);
	ck_assert_int_eq(fdx_session_send_ack(&s, &ack), 0);
	ck_assert_int_eq(fdx_session_send_bye(&s, &bye), 0);
	expect_failed(&s, fdx_session_recv_bye(&s, &theirs), "OBJECT after the last");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(consumer_object_limit)
{
	struct fdx_session s;
	struct fdx_hello h = hello_of(FDX_ROLE_CONSUMER, "small");
	struct fdx_object o;
	struct fdx_object_ack ack = { .verdict = FDX_VERDICT_UNCHECKED,
				      .first_mismatch = FDX_NO_OFFSET };
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds;
	bool last;

	/* announced: at most one object; the producer sends two */
	pair(sv);
	h.max_objects = 1;
	fdx_session_init(&s, sv[0], false, &h);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_object(sv[1], 1, 0, false);
	raw_object(sv[1], 2, 1, true);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	ck_assert_int_eq(fdx_session_recv_object(&s, &o, fds, &nfds, &last), 0);
	fdx_close_fds(fds, nfds);
	ck_assert_int_eq(fdx_session_send_ack(&s, &ack), 0);
	expect_failed(&s, fdx_session_recv_object(&s, &o, fds, &nfds, &last),
		      "object 2 of 1");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A consumer that announced one fd per message gets two: the producer broke its word. */
START_TEST(consumer_fd_limit)
{
	struct fdx_session s;
	struct fdx_hello h = hello_of(FDX_ROLE_CONSUMER, "one-fd");
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.seq = 1, .hdr.nfds = 2 };
	struct fdx_object *o = &m.u.object;
	struct fdx_object got;
	int sv[2], fds[2], rfds[FDX_MAX_PLANES];
	unsigned nfds = 99;
	bool last;
	int r;

	pair(sv);
	h.max_fds = 1;
	fdx_session_init(&s, sv[0], false, &h);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	/* a well-formed two-plane image, each plane on its own fd */
	fds[0] = tc_memfd("fdx-plane0", 4096);
	fds[1] = tc_memfd("fdx-plane1", 4096);
	*o = (struct fdx_object){ .kind = FDX_KIND_IMAGE,
				  .backend = FDX_BACKEND_MEMFD,
				  .format = 1,
				  .width = 64,
				  .height = 16,
				  .nplanes = 2,
				  .size = 8192 };
	o->planes[0] = (struct fdx_plane){ 0, 256, 0, 4096, 64, 16 };
	o->planes[1] = (struct fdx_plane){ 1, 256, 0, 4096, 64, 16 };
	raw_send(sv[1], &m, fds, 2);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	r = fdx_session_recv_object(&s, &got, rfds, &nfds, &last);
	if (r == 0)
		fdx_close_fds(rfds, nfds);
	ck_assert_msg(r < 0, "OBJECT with %u fds accepted, max_fds 1 announced", nfds);
	expect_failed(&s, r, "two fds for max_fds 1");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- hostile peers against a producer ---- */

START_TEST(ack_wrong_index)
{
	static const uint32_t bad[] = { 1, 7, UINT32_MAX };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fdx_session s;
		struct fdx_object_ack ack;
		struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT_ACK, .hdr.seq = 1 };
		struct fdx_buffer b;
		struct fdx_object o;
		int sv[2];

		pair(sv);
		producer_on(&s, sv[0]);
		raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
		m.u.ack = (struct fdx_object_ack){ bad[i], 0, FDX_NO_OFFSET, 0 };
		raw_send(sv[1], &m, NULL, 0);
		ck_assert_int_eq(fdx_session_handshake(&s), 0);
		make_object(&b, &o, 4096, 0);
		ck_assert_int_eq(fdx_session_send_object(&s, &o, &b.fd, 1, true), 0);
		fdx_buffer_release(&b);
		expect_failed(&s, fdx_session_recv_ack(&s, &ack),
			      "ACK for the wrong object");
		close(sv[0]);
		close(sv[1]);
	}
}
END_TEST

START_TEST(consumer_sends_object)
{
	struct fdx_session s;
	struct fdx_object_ack ack;
	struct fdx_buffer b;
	struct fdx_object o;
	int sv[2];

	pair(sv);
	producer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
	raw_object(sv[1], 1, 0, true);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	make_object(&b, &o, 4096, 0);
	ck_assert_int_eq(fdx_session_send_object(&s, &o, &b.fd, 1, true), 0);
	fdx_buffer_release(&b);
	expect_failed(&s, fdx_session_recv_ack(&s, &ack), "OBJECT from the consumer");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(producer_respects_peer_limits)
{
	struct fdx_session s;
	struct fdx_msg m = { .hdr.type = FDX_MSG_HELLO };
	struct fdx_buffer b;
	struct fdx_object o;
	int sv[2];
	unsigned nfds;
	uint8_t buf[FDX_MSG_MAX];

	pair(sv);
	producer_on(&s, sv[0]);
	m.u.hello = hello_of(FDX_ROLE_CONSUMER, "tiny");
	m.u.hello.max_size = 100;
	raw_send(sv[1], &m, NULL, 0);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	(void)raw_recv(sv[1]);
	make_object(&b, &o, 4096, 0);
	expect_failed(&s, fdx_session_send_object(&s, &o, &b.fd, 1, true),
		      "object over max_size");
	fdx_buffer_release(&b);
	/* refused before sending: nothing reached the consumer */
	ck_assert_int_eq(tc_recv_raw(sv[1], buf, sizeof(buf), &nfds, MSG_DONTWAIT),
			 -EAGAIN);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- calls made in the wrong state by the program itself ---- */

START_TEST(local_misuse)
{
	struct fdx_session s;
	struct fdx_object_ack ack = { .first_mismatch = FDX_NO_OFFSET };
	struct fdx_bye bye = { 0 };
	struct fdx_buffer b;
	struct fdx_object o;
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds;
	bool last;
	uint8_t buf[FDX_MSG_MAX];

	pair(sv);
	make_object(&b, &o, 4096, 0);
	producer_on(&s, sv[0]);
	expect_failed(&s, fdx_session_send_object(&s, &o, &b.fd, 1, false),
		      "OBJECT before HELLO");
	producer_on(&s, sv[0]);
	expect_failed(&s, fdx_session_recv_object(&s, &o, fds, &nfds, &last),
		      "a producer receiving OBJECT");
	consumer_on(&s, sv[0]);
	expect_failed(&s, fdx_session_send_ack(&s, &ack), "ACK before any OBJECT");
	consumer_on(&s, sv[0]);
	expect_failed(&s, fdx_session_send_bye(&s, &bye), "BYE before HELLO");
	/* none of these put anything on the wire */
	ck_assert_int_eq(tc_recv_raw(sv[1], buf, sizeof(buf), &nfds, MSG_DONTWAIT),
			 -EAGAIN);

	/* a failed session stays failed, keeping its first reason */
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
	expect_failed(&s, fdx_session_handshake(&s), "same role");
	{
		char first[sizeof(s.err)];

		snprintf(first, sizeof(first), "%s", fdx_session_error(&s));
		expect_failed(&s, fdx_session_handshake(&s), "handshake again");
		ck_assert_str_eq(fdx_session_error(&s), first);
	}
	fdx_buffer_release(&b);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(session_fail_and_send_error)
{
	struct fdx_session s;
	struct fdx_msg m;
	int sv[2];

	pair(sv);
	consumer_on(&s, sv[0]);
	ck_assert_int_eq(fdx_session_fail(&s, -ERANGE, "buffer %d: too small", 3), -ERANGE);
	ck_assert_str_eq(fdx_session_error(&s), "buffer 3: too small");
	ck_assert_uint_eq(s.state, FDX_SS_FAILED);

	consumer_on(&s, sv[0]);
	fdx_session_send_error(&s, 4, "out of memory");
	ck_assert_uint_eq(s.state, FDX_SS_FAILED);
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_ERROR);
	ck_assert_uint_eq(m.u.error.code, 4);
	ck_assert_str_eq(m.u.error.text, "out of memory");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- the stream of frames (READY / RELEASE) ---- */

static void raw_frame_msg(int fd, unsigned type, uint32_t seq, uint32_t buffer,
			  uint64_t frame)
{
	struct fdx_msg m = { .hdr.type = (uint16_t)type, .hdr.seq = seq };

	if (type == FDX_MSG_READY) {
		m.u.ready.buffer = buffer;
		m.u.ready.frame = frame;
	} else {
		m.u.release.buffer = buffer;
		m.u.release.frame = frame;
		m.u.release.verdict = FDX_VERDICT_OK;
	}
	raw_send(fd, &m, NULL, 0);
}

static void raw_bye_frames(int fd, uint32_t seq, uint64_t frames)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_BYE, .hdr.seq = seq };

	m.u.bye.frames = frames;
	raw_send(fd, &m, NULL, 0);
}

/*
 * A consumer session (STREAM capability) that has taken two objects from a raw producer,
 * the last flagged LAST|STREAM: on return it is in the frame phase and the raw end has
 * read its HELLO and ACKs. The raw producer's next seq is 3.
 */
static void consumer_in_stream(int sv[2], struct fdx_session *s)
{
	struct fdx_hello h = hello_of(FDX_ROLE_CONSUMER, "test-consumer");
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.seq = 2, .hdr.nfds = 1 };
	struct fdx_object o;
	struct fdx_object_ack ack = { .first_mismatch = FDX_NO_OFFSET };
	struct fdx_buffer b;
	int fds[FDX_MAX_PLANES];
	unsigned nfds;
	bool last;

	h.caps |= FDX_CAP_STREAM;
	pair(sv);
	fdx_session_init(s, sv[0], false, &h);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_object(sv[1], 1, 0, false);
	make_object(&b, &m.u.object, 4096, 1);
	m.u.object.index = 1;
	m.hdr.flags = FDX_HF_LAST | FDX_HF_STREAM;
	raw_send(sv[1], &m, &b.fd, 1);
	fdx_buffer_release(&b);

	ck_assert_int_eq(fdx_session_handshake(s), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(fdx_session_recv_object(s, &o, fds, &nfds, &last), 0);
		fdx_close_fds(fds, nfds);
		ck_assert_int_eq(fdx_session_send_ack(s, &ack), 0);
	}
	ck_assert(last);
	ck_assert(s->stream);
	ck_assert_uint_eq(s->state, FDX_SS_FRAMES);
	ck_assert_uint_eq(s->nbuffers, 2);
	for (int i = 0; i < 3; i++)
		raw_recv(sv[1]); /* HELLO, two OBJECT_ACKs */
}

static void end_stream_test(int sv[2], struct fdx_session *s)
{
	fdx_session_cleanup(s);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(stream_consumer_round)
{
	struct fdx_session s;
	struct fdx_ready ready;
	struct fdx_release rel = { .verdict = FDX_VERDICT_OK };
	struct fdx_bye bye = { 0 }, theirs;
	struct fdx_msg m;
	bool ended;
	int sv[2];

	consumer_in_stream(sv, &s);
	raw_frame_msg(sv[1], FDX_MSG_READY, 3, 0, 10);
	raw_frame_msg(sv[1], FDX_MSG_READY, 4, 1, 11);
	for (uint32_t b = 0; b < 2; b++) {
		ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
		ck_assert(!ended);
		ck_assert_uint_eq(ready.buffer, b);
		ck_assert_uint_eq(ready.frame, 10 + b);
	}
	ck_assert_uint_eq(s.inflight, 2);
	/* released out of order, each with the frame its READY named */
	rel.buffer = 1;
	ck_assert_int_eq(fdx_session_send_release(&s, &rel), 0);
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_RELEASE);
	ck_assert_uint_eq(m.u.release.buffer, 1);
	ck_assert_uint_eq(m.u.release.frame, 11);
	rel.buffer = 0;
	ck_assert_int_eq(fdx_session_send_release(&s, &rel), 0);
	ck_assert_uint_eq(raw_recv(sv[1]).u.release.frame, 10);
	/* releasing twice is the caller's mistake, refused before it reaches the wire */
	ck_assert_int_lt(fdx_session_send_release(&s, &rel), 0);
	end_stream_test(sv, &s);

	/* the producer's BYE ends the stream, the consumer answers */
	consumer_in_stream(sv, &s);
	raw_frame_msg(sv[1], FDX_MSG_READY, 3, 1, 0);
	ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
	rel.buffer = 1;
	ck_assert_int_eq(fdx_session_send_release(&s, &rel), 0);
	raw_bye_frames(sv[1], 4, 1);
	ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
	ck_assert(ended);
	ck_assert_uint_eq(theirs.frames, 1);
	bye.frames = 1;
	ck_assert_int_eq(fdx_session_send_bye(&s, &bye), 0);
	ck_assert_uint_eq(s.state, FDX_SS_DONE);
	raw_recv(sv[1]); /* RELEASE */
	m = raw_recv(sv[1]);
	ck_assert_uint_eq(m.hdr.type, FDX_MSG_BYE);
	ck_assert_uint_eq(m.u.bye.frames, 1);
	end_stream_test(sv, &s);
}
END_TEST

START_TEST(stream_consumer_refuses)
{
	struct fdx_session s;
	struct fdx_ready ready;
	struct fdx_bye theirs;
	bool ended;
	int sv[2];

	/* a buffer outside the ring */
	consumer_in_stream(sv, &s);
	raw_frame_msg(sv[1], FDX_MSG_READY, 3, 2, 0);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs),
		      "READY buffer 2");
	end_stream_test(sv, &s);

	/* the same buffer twice before its RELEASE */
	consumer_in_stream(sv, &s);
	raw_frame_msg(sv[1], FDX_MSG_READY, 3, 0, 5);
	raw_frame_msg(sv[1], FDX_MSG_READY, 4, 0, 6);
	ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs),
		      "READY twice");
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "before its RELEASE"));
	end_stream_test(sv, &s);

	/* BYE while the consumer still holds a buffer */
	consumer_in_stream(sv, &s);
	raw_frame_msg(sv[1], FDX_MSG_READY, 3, 1, 5);
	raw_bye_frames(sv[1], 4, 1);
	ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs), "early BYE");
	end_stream_test(sv, &s);

	/* a RELEASE from the producer's side makes no sense */
	consumer_in_stream(sv, &s);
	raw_frame_msg(sv[1], FDX_MSG_RELEASE, 3, 0, 0);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs), "RELEASE");
	end_stream_test(sv, &s);
}
END_TEST

/* A stream announced to a consumer that did not ask for one, and READY without a stream. */
START_TEST(stream_not_announced)
{
	struct fdx_session s;
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.seq = 1, .hdr.nfds = 1 };
	struct fdx_object o;
	struct fdx_object_ack ack = { .first_mismatch = FDX_NO_OFFSET };
	struct fdx_buffer b;
	struct fdx_bye theirs;
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds = 99;
	bool last;

	pair(sv);
	consumer_on(&s, sv[0]); /* no STREAM capability */
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	make_object(&b, &m.u.object, 4096, 0);
	m.hdr.flags = FDX_HF_LAST | FDX_HF_STREAM;
	raw_send(sv[1], &m, &b.fd, 1);
	fdx_buffer_release(&b);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	expect_failed(&s, fdx_session_recv_object(&s, &o, fds, &nfds, &last),
		      "STREAM to a consumer without the capability");
	ck_assert_uint_eq(nfds, 0);
	close(sv[0]);
	close(sv[1]);

	/* no stream announced: after the last ACK a READY is out of place */
	pair(sv);
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	raw_object(sv[1], 1, 0, true);
	raw_frame_msg(sv[1], FDX_MSG_READY, 2, 0, 0);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	ck_assert_int_eq(fdx_session_recv_object(&s, &o, fds, &nfds, &last), 0);
	fdx_close_fds(fds, nfds);
	ck_assert_int_eq(fdx_session_send_ack(&s, &ack), 0);
	ck_assert(!s.stream);
	ck_assert_int_eq(fdx_session_send_bye(&s, &(struct fdx_bye){ 0 }), 0);
	expect_failed(&s, fdx_session_recv_bye(&s, &theirs), "READY without a stream");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A producer in the frame phase with two buffers, against a raw consumer. */
static void producer_in_stream(int sv[2], struct fdx_session *s, struct fdx_buffer b[2])
{
	struct fdx_hello h = hello_of(FDX_ROLE_PRODUCER, "test-producer");
	struct fdx_msg m = { .hdr.type = FDX_MSG_HELLO };
	struct fdx_object o;
	struct fdx_object_ack ack;

	h.caps |= FDX_CAP_STREAM;
	pair(sv);
	fdx_session_init(s, sv[0], true, &h);
	s->want_stream = true;
	m.u.hello = hello_of(FDX_ROLE_CONSUMER, "raw-consumer");
	m.u.hello.caps |= FDX_CAP_STREAM;
	raw_send(sv[1], &m, NULL, 0);
	raw_simple(sv[1], FDX_MSG_OBJECT_ACK, 1);
	m = (struct fdx_msg){ .hdr.type = FDX_MSG_OBJECT_ACK, .hdr.seq = 2 };
	m.u.ack.index = 1;
	m.u.ack.first_mismatch = FDX_NO_OFFSET;
	raw_send(sv[1], &m, NULL, 0);
	ck_assert_int_eq(fdx_session_handshake(s), 0);
	for (uint32_t i = 0; i < 2; i++) {
		make_object(&b[i], &o, 4096, i);
		ck_assert_int_eq(fdx_session_send_object(s, &o, &b[i].fd, 1, i == 1), 0);
		ck_assert_int_eq(fdx_session_recv_ack(s, &ack), 0);
	}
	ck_assert_uint_eq(s->state, FDX_SS_FRAMES);
	raw_recv(sv[1]); /* HELLO */
	ck_assert_uint_eq(raw_recv(sv[1]).hdr.flags, 0);
	ck_assert_uint_eq(raw_recv(sv[1]).hdr.flags, FDX_HF_LAST | FDX_HF_STREAM);
}

static void end_producer_test(int sv[2], struct fdx_session *s, struct fdx_buffer b[2])
{
	fdx_buffer_release(&b[0]);
	fdx_buffer_release(&b[1]);
	end_stream_test(sv, s);
}

START_TEST(stream_producer_round)
{
	struct fdx_session s;
	struct fdx_buffer b[2];
	struct fdx_release rel;
	struct fdx_bye bye = { .frames = 2 }, theirs;
	int sv[2];

	producer_in_stream(sv, &s, b);
	ck_assert_int_eq(fdx_session_send_ready(&s, 0, 7), 0);
	ck_assert_int_eq(fdx_session_send_ready(&s, 1, 8), 0);
	/* a buffer already out cannot be announced again */
	ck_assert_int_lt(fdx_session_send_ready(&s, 0, 9), 0);
	end_producer_test(sv, &s, b);

	producer_in_stream(sv, &s, b);
	ck_assert_int_eq(fdx_session_send_ready(&s, 0, 7), 0);
	ck_assert_int_eq(fdx_session_send_ready(&s, 1, 8), 0);
	ck_assert_uint_eq(raw_recv(sv[1]).u.ready.frame, 7);
	/* BYE needs every buffer back */
	ck_assert_int_lt(fdx_session_send_bye(&s, &bye), 0);
	end_producer_test(sv, &s, b);

	producer_in_stream(sv, &s, b);
	ck_assert_int_eq(fdx_session_send_ready(&s, 0, 7), 0);
	ck_assert_int_eq(fdx_session_send_ready(&s, 1, 8), 0);
	raw_frame_msg(sv[1], FDX_MSG_RELEASE, 3, 1, 8);
	raw_frame_msg(sv[1], FDX_MSG_RELEASE, 4, 0, 7);
	ck_assert_int_eq(fdx_session_recv_release(&s, &rel), 0);
	ck_assert_uint_eq(rel.buffer, 1);
	ck_assert_int_eq(fdx_session_recv_release(&s, &rel), 0);
	ck_assert_uint_eq(s.inflight, 0);
	raw_bye_frames(sv[1], 5, 2);
	ck_assert_int_eq(fdx_session_send_bye(&s, &bye), 0);
	ck_assert_uint_eq(s.state, FDX_SS_STREAM_END);
	ck_assert_int_eq(fdx_session_recv_bye(&s, &theirs), 0);
	ck_assert_uint_eq(theirs.frames, 2);
	ck_assert_uint_eq(s.state, FDX_SS_DONE);
	end_producer_test(sv, &s, b);
}
END_TEST

/* Every bogus RELEASE a consumer can send: each one is refused, with a reason. */
START_TEST(stream_producer_refuses)
{
	static const struct {
		uint32_t buffer;
		uint64_t frame;
		const char *what, *reason;
	} bad[] = {
		{ 2, 7, "outside the ring", "the ring has 2" },
		{ 1, 7, "not handed out", "was not handed out" },
		{ 0, 6, "wrong frame", "it holds frame 7" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fdx_session s;
		struct fdx_buffer b[2];
		struct fdx_release rel;
		int sv[2];

		producer_in_stream(sv, &s, b);
		ck_assert_int_eq(fdx_session_send_ready(&s, 0, 7), 0);
		raw_frame_msg(sv[1], FDX_MSG_RELEASE, 3, bad[i].buffer, bad[i].frame);
		expect_failed(&s, fdx_session_recv_release(&s, &rel), bad[i].what);
		ck_assert_msg(strstr(fdx_session_error(&s), bad[i].reason), "%s: '%s'",
			      bad[i].what, fdx_session_error(&s));
		end_producer_test(sv, &s, b);
	}

	/* a duplicate RELEASE, after a good one */
	struct fdx_session s;
	struct fdx_buffer b[2];
	struct fdx_release rel;
	int sv[2];

	producer_in_stream(sv, &s, b);
	ck_assert_int_eq(fdx_session_send_ready(&s, 0, 7), 0);
	raw_frame_msg(sv[1], FDX_MSG_RELEASE, 3, 0, 7);
	raw_frame_msg(sv[1], FDX_MSG_RELEASE, 4, 0, 7);
	ck_assert_int_eq(fdx_session_recv_release(&s, &rel), 0);
	expect_failed(&s, fdx_session_recv_release(&s, &rel), "duplicate RELEASE");
	end_producer_test(sv, &s, b);
}
END_TEST

/* A producer asked to stream to a consumer that cannot. */
START_TEST(stream_needs_capability)
{
	struct fdx_session s;
	struct fdx_buffer b;
	struct fdx_object o;
	struct fdx_hello h = hello_of(FDX_ROLE_PRODUCER, "test-producer");
	int sv[2];

	pair(sv);
	fdx_session_init(&s, sv[0], true, &h);
	s.want_stream = true;
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER); /* PATTERN only */
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	make_object(&b, &o, 4096, 0);
	ck_assert_int_eq(fdx_session_send_object(&s, &o, &b.fd, 1, true), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "STREAM"));
	fdx_buffer_release(&b);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- copy streams: DATA into the consumer's own memory ---- */

#define COPY_SIZE 4096u

static void raw_data(int fd, uint32_t seq, uint32_t buffer, uint64_t offset, uint32_t len,
		     uint8_t value, int attach_fd)
{
	static uint8_t buf[FDX_HDR_SIZE + FDX_DATA_HEAD + COPY_SIZE + 64];
	struct fdx_msg m = { .hdr.type = FDX_MSG_DATA, .hdr.seq = seq };
	int n;

	m.u.data.buffer = buffer;
	m.u.data.offset = offset;
	m.u.data.len = len;
	m.hdr.nfds = attach_fd >= 0 ? 1 : 0;
	n = fdx_msg_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	memset(buf + n, value, len);
	ck_assert_int_eq(tc_send_raw(fd, buf, (size_t)n + len,
				     attach_fd >= 0 ? &attach_fd : NULL,
				     attach_fd >= 0 ? 1 : 0),
			 (ssize_t)(n + len));
}

/*
 * A consumer (STREAM|COPY) that took two copy objects of COPY_SIZE bytes from a raw
 * producer and points the stream at mem[2]: in the frame phase, raw seq next is 3.
 */
static void consumer_in_copy_stream(int sv[2], struct fdx_session *s, uint8_t *mem[2])
{
	struct fdx_hello h = hello_of(FDX_ROLE_CONSUMER, "test-consumer");
	struct fdx_object_ack ack = { .first_mismatch = FDX_NO_OFFSET };
	struct fdx_object o;
	int fds[FDX_MAX_PLANES];
	unsigned nfds;
	bool last;

	h.caps |= FDX_CAP_STREAM | FDX_CAP_COPY;
	pair(sv);
	fdx_session_init(s, sv[0], false, &h);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	for (uint32_t i = 0; i < 2; i++) {
		struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.seq = 1 + i };

		fdx_object_raw(&m.u.object, COPY_SIZE, FDX_BACKEND_COPY, SEED, i);
		m.u.object.index = i;
		m.hdr.flags = i == 1 ? FDX_HF_LAST | FDX_HF_STREAM : 0;
		raw_send(sv[1], &m, NULL, 0);
	}
	ck_assert_int_eq(fdx_session_handshake(s), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(fdx_session_recv_object(s, &o, fds, &nfds, &last), 0);
		ck_assert_uint_eq(nfds, 0);
		ck_assert_uint_eq(o.backend, FDX_BACKEND_COPY);
		ck_assert_int_eq(fdx_session_send_ack(s, &ack), 0);
	}
	ck_assert(s->copy && s->stream);
	for (uint32_t i = 0; i < 2; i++) {
		mem[i] = calloc(1, COPY_SIZE);
		ck_assert_int_eq(fdx_session_copy_target(s, i, mem[i], COPY_SIZE), 0);
	}
	for (int i = 0; i < 3; i++)
		raw_recv(sv[1]); /* HELLO and the ACKs */
}

static void end_copy_test(int sv[2], struct fdx_session *s, uint8_t *mem[2])
{
	free(mem[0]);
	free(mem[1]);
	end_stream_test(sv, s);
}

START_TEST(copy_stream_round)
{
	struct fdx_session s;
	struct fdx_ready ready;
	struct fdx_release rel = { .verdict = FDX_VERDICT_OK };
	struct fdx_bye theirs;
	uint8_t *mem[2];
	bool ended;
	int sv[2];

	consumer_in_copy_stream(sv, &s, mem);
	raw_data(sv[1], 3, 0, 0, COPY_SIZE, 0xab, -1);
	raw_frame_msg(sv[1], FDX_MSG_READY, 4, 0, 5);
	ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
	ck_assert_uint_eq(ready.buffer, 0);
	ck_assert_uint_eq(mem[0][0], 0xab);
	ck_assert_uint_eq(mem[0][COPY_SIZE - 1], 0xab);
	ck_assert_uint_eq(mem[1][0], 0);
	rel.buffer = 0;
	ck_assert_int_eq(fdx_session_send_release(&s, &rel), 0);
	/* the next frame of the same buffer, in two pieces */
	raw_data(sv[1], 5, 0, 0, COPY_SIZE / 2, 0x11, -1);
	raw_data(sv[1], 6, 0, COPY_SIZE / 2, COPY_SIZE / 2, 0x22, -1);
	raw_frame_msg(sv[1], FDX_MSG_READY, 7, 0, 6);
	ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
	ck_assert_uint_eq(ready.frame, 6);
	ck_assert_uint_eq(mem[0][0], 0x11);
	ck_assert_uint_eq(mem[0][COPY_SIZE - 1], 0x22);
	end_copy_test(sv, &s, mem);
}
END_TEST

START_TEST(copy_stream_refuses)
{
	struct fdx_session s;
	struct fdx_ready ready;
	struct fdx_bye theirs;
	uint8_t *mem[2];
	bool ended;
	int sv[2], fd;

	/* not from the start of the buffer */
	consumer_in_copy_stream(sv, &s, mem);
	raw_data(sv[1], 3, 0, 100, 10, 0, -1);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs),
		      "DATA at 100");
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "expected from 0"));
	end_copy_test(sv, &s, mem);

	/* past the end of the buffer */
	consumer_in_copy_stream(sv, &s, mem);
	raw_data(sv[1], 3, 1, 0, COPY_SIZE, 0, -1);
	raw_data(sv[1], 4, 1, COPY_SIZE, 1, 0, -1);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs),
		      "DATA past end");
	end_copy_test(sv, &s, mem);

	/* READY before the buffer is complete */
	consumer_in_copy_stream(sv, &s, mem);
	raw_data(sv[1], 3, 0, 0, 100, 0, -1);
	raw_frame_msg(sv[1], FDX_MSG_READY, 4, 0, 1);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs),
		      "early READY");
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "after 100 of its 4096 bytes"));
	end_copy_test(sv, &s, mem);

	/* into a buffer the consumer holds: the producer writing under the reader */
	consumer_in_copy_stream(sv, &s, mem);
	raw_data(sv[1], 3, 0, 0, COPY_SIZE, 0, -1);
	raw_frame_msg(sv[1], FDX_MSG_READY, 4, 0, 1);
	raw_data(sv[1], 5, 0, 0, 10, 0, -1);
	ck_assert_int_eq(fdx_session_recv_frame(&s, &ready, &ended, &theirs), 0);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs), "DATA held");
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "which this consumer holds"));
	end_copy_test(sv, &s, mem);

	/* the stream ends with a frame's bytes half sent and never announced */
	consumer_in_copy_stream(sv, &s, mem);
	raw_data(sv[1], 3, 1, 0, 100, 0, -1);
	raw_bye_frames(sv[1], 4, 0);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs),
		      "BYE mid-frame");
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "that no READY followed"));
	end_copy_test(sv, &s, mem);

	/* outside the ring */
	consumer_in_copy_stream(sv, &s, mem);
	raw_data(sv[1], 3, 2, 0, 10, 0, -1);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs),
		      "DATA buffer 2");
	end_copy_test(sv, &s, mem);

	/* with an fd: refused, and the fd does not stay (the fixture counts) */
	consumer_in_copy_stream(sv, &s, mem);
	fd = tc_memfd("fdx-stowaway", 4096);
	raw_data(sv[1], 3, 0, 0, 10, 0, fd);
	close(fd);
	expect_failed(&s, fdx_session_recv_frame(&s, &ready, &ended, &theirs), "DATA + fd");
	end_copy_test(sv, &s, mem);
}
END_TEST

/* Copy objects need the COPY capability on the other side. */
START_TEST(copy_needs_capability)
{
	struct fdx_session s;
	struct fdx_object o;
	struct fdx_hello h = hello_of(FDX_ROLE_PRODUCER, "test-producer");
	int sv[2], fds[FDX_MAX_PLANES];
	unsigned nfds = 99;
	bool last;

	pair(sv);
	fdx_session_init(&s, sv[0], true, &h);
	raw_hello(sv[1], 0, FDX_ROLE_CONSUMER);
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	fdx_object_raw(&o, 4096, FDX_BACKEND_COPY, SEED, 0);
	ck_assert_int_eq(fdx_session_send_object(&s, &o, NULL, 0, true), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(fdx_session_error(&s), "COPY"));
	close(sv[0]);
	close(sv[1]);

	/* a consumer without it refuses a copy object */
	pair(sv);
	consumer_on(&s, sv[0]);
	raw_hello(sv[1], 0, FDX_ROLE_PRODUCER);
	{
		struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.seq = 1 };

		fdx_object_raw(&m.u.object, 4096, FDX_BACKEND_COPY, SEED, 0);
		m.hdr.flags = FDX_HF_LAST;
		raw_send(sv[1], &m, NULL, 0);
	}
	ck_assert_int_eq(fdx_session_handshake(&s), 0);
	expect_failed(&s, fdx_session_recv_object(&s, &o, fds, &nfds, &last),
		      "copy object");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc;

	tc = tc_case("stream");
	tcase_add_test(tc, stream_consumer_round);
	tcase_add_test(tc, stream_consumer_refuses);
	tcase_add_test(tc, stream_not_announced);
	tcase_add_test(tc, stream_producer_round);
	tcase_add_test(tc, stream_producer_refuses);
	tcase_add_test(tc, stream_needs_capability);
	tcase_add_test(tc, copy_stream_round);
	tcase_add_test(tc, copy_stream_refuses);
	tcase_add_test(tc, copy_needs_capability);
	suite_add_tcase(s, tc);

	tc = tc_case("exchange");
	tcase_add_test(tc, exchange_three_objects);
	tcase_add_test(tc, exchange_reports_mismatch);
	tcase_add_test(tc, exchange_single_object);
	tcase_add_test(tc, consumer_wire_conformance);
	tcase_add_test(tc, producer_wire_conformance);
	tcase_add_test(tc, hello_newer_minor);
	suite_add_tcase(s, tc);

	tc = tc_case("hostile-producer");
	tcase_add_test(tc, object_before_hello);
	tcase_add_test(tc, second_hello);
	tcase_add_test(tc, hello_same_role);
	tcase_add_test(tc, hello_other_major);
	tcase_add_test(tc, wrong_sequence);
	tcase_add_test(tc, object_index_one_first);
	tcase_add_test(tc, bye_before_object);
	tcase_add_test(tc, hello_with_fd);
	tcase_add_test(tc, object_with_too_many_fds);
	tcase_add_test(tc, garbage_bytes);
	tcase_add_test(tc, empty_record_with_fds);
	tcase_add_test(tc, peer_closes_mid_session);
	tcase_add_test(tc, error_from_peer);
	tcase_add_test(tc, object_after_last);
	tcase_add_test(tc, consumer_object_limit);
	tcase_add_test(tc, consumer_fd_limit);
	suite_add_tcase(s, tc);

	tc = tc_case("hostile-consumer");
	tcase_add_test(tc, ack_wrong_index);
	tcase_add_test(tc, consumer_sends_object);
	tcase_add_test(tc, producer_respects_peer_limits);
	suite_add_tcase(s, tc);

	tc = tc_case("api");
	tcase_add_test(tc, local_misuse);
	tcase_add_test(tc, session_fail_and_send_error);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return tc_run_suite(session_suite());
}
