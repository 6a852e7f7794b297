/* test-codec.c - unit tests of the wire codec: round trips, every rejection, fuzzing */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "test-common.h"

/* Header offsets, from the table in codec.h. */
#define H_MAGIC	 0
#define H_MAJOR	 4
#define H_MINOR	 5
#define H_TYPE	 6
#define H_FLAGS	 8
#define H_NFDS	 10
#define H_LENGTH 12
#define H_SEQ	 16
#define H_RSV	 20

/* Payload offsets (from the header end) of fields the tests patch by hand. */
#define P_HELLO_RSV1   1
#define P_HELLO_RSV2   2
#define P_HELLO_RSV20  20
#define P_HELLO_NAME   32
#define P_OBJ_PLANE(i) (56 + 32 * (i))
#define P_READY_RSV    4
#define P_ERROR_RSV    4
#define P_ERROR_TEXT   8

#define WIRE_CAP (FDX_MSG_MAX + 64)

static const unsigned all_types[] = {
	FDX_MSG_HELLO,	 FDX_MSG_OBJECT, FDX_MSG_OBJECT_ACK, FDX_MSG_READY,
	FDX_MSG_RELEASE, FDX_MSG_BYE,	 FDX_MSG_ERROR,
};

/* A raw object of one plane on one fd, as a producer sends it. */
static struct fdx_msg sample_object1(void)
{
	struct fdx_msg m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = FDX_MSG_OBJECT;
	m.hdr.flags = FDX_HF_LAST;
	m.hdr.nfds = 1;
	m.hdr.seq = 0x01020304;
	m.u.object = (struct fdx_object){
		.index = 7,
		.kind = FDX_KIND_RAW,
		.backend = FDX_BACKEND_MEMFD,
		.nplanes = 1,
		.content = FDX_CONTENT_PATTERN,
		.size = (1u << 20) + 3,
		.seed = 0x0123456789abcdefull,
		.frame = 99,
		.checksum = 0xfeedfacecafebeefull,
		.planes[0] = { .fd_index = 0, .offset = 0, .size = (1u << 20) + 3 },
	};
	return m;
}

/*
 * An image of four planes on two fds: planes 0 and 2 share fd 0, planes 1 and 3 share
 * fd 1 and touch without overlapping, which must be allowed.
 */
static struct fdx_msg sample_object4(void)
{
	struct fdx_msg m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = FDX_MSG_OBJECT;
	m.hdr.nfds = 2;
	m.hdr.seq = 41;
	m.u.object = (struct fdx_object){
		.index = 0xfffffffe,
		.kind = FDX_KIND_IMAGE,
		.backend = FDX_BACKEND_UDMABUF,
		.format = 0x34325258,
		.width = 1920,
		.height = 1080,
		.nplanes = 4,
		.content = FDX_CONTENT_CHECKSUM,
		.size = 1000 + 2000 + 300 + 7,
		.seed = 1,
		.frame = UINT64_MAX,
		.checksum = 0x1122334455667788ull,
	};
	m.u.object.planes[0] = (struct fdx_plane){ 0, 40, 0, 1000, 10, 25 };
	m.u.object.planes[1] = (struct fdx_plane){ 1, 80, 0, 2000, 20, 25 };
	m.u.object.planes[2] = (struct fdx_plane){ 0, 30, 4096, 300, 30, 10 };
	m.u.object.planes[3] = (struct fdx_plane){ 1, 7, 2000, 7, 7, 1 };
	return m;
}

static struct fdx_msg sample(unsigned type)
{
	struct fdx_msg m;

	if (type == FDX_MSG_OBJECT)
		return sample_object1();
	memset(&m, 0, sizeof(m));
	m.hdr.type = type;
	m.hdr.seq = 0xdeadbeef;
	switch (type) {
	case FDX_MSG_HELLO:
		m.u.hello = (struct fdx_hello){
			.role = FDX_ROLE_PRODUCER,
			.caps = FDX_CAP_PATTERN | FDX_CAP_STREAM,
			.pid = 4242,
			.max_fds = 4,
			.max_objects = 1000,
			.max_size = 1ull << 40,
		};
		strcpy(m.u.hello.name, "fdx-test-hello");
		break;
	case FDX_MSG_OBJECT_ACK:
		m.u.ack = (struct fdx_object_ack){ 3, FDX_VERDICT_MISMATCH, 12345, 17 };
		break;
	case FDX_MSG_READY:
		m.u.ready = (struct fdx_ready){ .buffer = 5, .frame = 1ull << 33 };
		break;
	case FDX_MSG_RELEASE:
		m.u.release = (struct fdx_release){ 6, FDX_VERDICT_UNCHECKED, 77 };
		break;
	case FDX_MSG_BYE:
		m.u.bye = (struct fdx_bye){ 3, 9, 1ull << 41, 1 };
		break;
	case FDX_MSG_ERROR:
		m.u.error.code = 3;
		strcpy(m.u.error.text, "protocol error: the peer said something odd");
		break;
	}
	return m;
}

static int encode_ok(struct fdx_msg *m, uint8_t *buf)
{
	int n = fdx_msg_encode(m, buf, WIRE_CAP);

	ck_assert_msg(n == (int)(FDX_HDR_SIZE + fdx_msg_payload_size(m->hdr.type)),
		      "encode of %s returned %d", fdx_msg_type_name(m->hdr.type), n);
	return n;
}

/*
 * Decode from a heap copy of exactly len bytes, so that a read past the data is a read
 * past the allocation (visible to ASan and valgrind runs of the suite).
 */
static int decode_exact(const uint8_t *buf, size_t len, unsigned nfds, struct fdx_msg *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct fdx_msg scratch;
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, buf, len);
	r = fdx_msg_decode(copy, len, nfds, out ? out : &scratch);
	free(copy);
	return r;
}

#define ck_assert_decode(buf, len, nfds, want)                                             \
	do {                                                                               \
		int r_ = decode_exact(buf, len, nfds, NULL);                               \
		ck_assert_msg(r_ == (want), "decode returned %d (%s), expected %d (%s)",   \
			      r_, strerror(-r_), (want), strerror(-(want)));               \
	} while (0)

static void assert_hello_eq(const struct fdx_hello *a, const struct fdx_hello *b)
{
	ck_assert_uint_eq(a->role, b->role);
	ck_assert_uint_eq(a->caps, b->caps);
	ck_assert_uint_eq(a->pid, b->pid);
	ck_assert_uint_eq(a->max_fds, b->max_fds);
	ck_assert_uint_eq(a->max_objects, b->max_objects);
	ck_assert_uint_eq(a->max_size, b->max_size);
	ck_assert_str_eq(a->name, b->name);
}

static void assert_object_eq(const struct fdx_object *a, const struct fdx_object *b)
{
	ck_assert_uint_eq(a->index, b->index);
	ck_assert_uint_eq(a->kind, b->kind);
	ck_assert_uint_eq(a->backend, b->backend);
	ck_assert_uint_eq(a->format, b->format);
	ck_assert_uint_eq(a->width, b->width);
	ck_assert_uint_eq(a->height, b->height);
	ck_assert_uint_eq(a->nplanes, b->nplanes);
	ck_assert_uint_eq(a->content, b->content);
	ck_assert_uint_eq(a->size, b->size);
	ck_assert_uint_eq(a->seed, b->seed);
	ck_assert_uint_eq(a->frame, b->frame);
	ck_assert_uint_eq(a->checksum, b->checksum);
	for (unsigned i = 0; i < a->nplanes && i < FDX_MAX_PLANES; i++) {
		const struct fdx_plane *p = &a->planes[i], *q = &b->planes[i];

		ck_assert_uint_eq(p->fd_index, q->fd_index);
		ck_assert_uint_eq(p->stride, q->stride);
		ck_assert_uint_eq(p->offset, q->offset);
		ck_assert_uint_eq(p->size, q->size);
		ck_assert_uint_eq(p->width, q->width);
		ck_assert_uint_eq(p->height, q->height);
	}
}

/* Every field a sender sets must come back; header magic/version/length included. */
static void assert_msg_eq(const struct fdx_msg *a, const struct fdx_msg *b)
{
	ck_assert_uint_eq(a->hdr.magic, b->hdr.magic);
	ck_assert_uint_eq(a->hdr.version_major, b->hdr.version_major);
	ck_assert_uint_eq(a->hdr.type, b->hdr.type);
	ck_assert_uint_eq(a->hdr.flags, b->hdr.flags);
	ck_assert_uint_eq(a->hdr.nfds, b->hdr.nfds);
	ck_assert_uint_eq(a->hdr.seq, b->hdr.seq);
	switch (a->hdr.type) {
	case FDX_MSG_HELLO:
		assert_hello_eq(&a->u.hello, &b->u.hello);
		break;
	case FDX_MSG_OBJECT:
		assert_object_eq(&a->u.object, &b->u.object);
		break;
	case FDX_MSG_OBJECT_ACK:
		ck_assert_uint_eq(a->u.ack.index, b->u.ack.index);
		ck_assert_uint_eq(a->u.ack.verdict, b->u.ack.verdict);
		ck_assert_uint_eq(a->u.ack.first_mismatch, b->u.ack.first_mismatch);
		ck_assert_uint_eq(a->u.ack.mismatched_bytes, b->u.ack.mismatched_bytes);
		break;
	case FDX_MSG_READY:
		ck_assert_uint_eq(a->u.ready.buffer, b->u.ready.buffer);
		ck_assert_uint_eq(a->u.ready.frame, b->u.ready.frame);
		break;
	case FDX_MSG_RELEASE:
		ck_assert_uint_eq(a->u.release.buffer, b->u.release.buffer);
		ck_assert_uint_eq(a->u.release.verdict, b->u.release.verdict);
		ck_assert_uint_eq(a->u.release.frame, b->u.release.frame);
		break;
	case FDX_MSG_BYE:
		ck_assert_uint_eq(a->u.bye.objects, b->u.bye.objects);
		ck_assert_uint_eq(a->u.bye.frames, b->u.bye.frames);
		ck_assert_uint_eq(a->u.bye.bytes, b->u.bye.bytes);
		ck_assert_uint_eq(a->u.bye.mismatches, b->u.bye.mismatches);
		break;
	case FDX_MSG_ERROR:
		ck_assert_uint_eq(a->u.error.code, b->u.error.code);
		ck_assert_str_eq(a->u.error.text, b->u.error.text);
		break;
	default:
		ck_abort_msg("unexpected type %u", a->hdr.type);
	}
}

static void round_trip(struct fdx_msg *m)
{
	uint8_t buf[WIRE_CAP];
	struct fdx_msg out;
	int n = encode_ok(m, buf);
	int r;

	/* the encoder fills these itself */
	ck_assert_uint_eq(m->hdr.magic, FDX_MAGIC);
	ck_assert_uint_eq(m->hdr.version_major, FDX_PROTO_MAJOR);
	ck_assert_uint_eq(m->hdr.length, fdx_msg_payload_size(m->hdr.type));
	r = decode_exact(buf, (size_t)n, m->hdr.nfds, &out);
	ck_assert_msg(r == 0, "decode of a freshly encoded %s failed: %d (%s)",
		      fdx_msg_type_name(m->hdr.type), r, strerror(-r));
	ck_assert_uint_eq(out.hdr.length, (uint32_t)n - FDX_HDR_SIZE);
	ck_assert_uint_eq(out.hdr.version_minor, FDX_PROTO_MINOR);
	assert_msg_eq(m, &out);
}

/* ---- the fd-count fixture must itself be able to fail ---- */

START_TEST(fixture_counts_fds)
{
	int before = tc_count_fds();
	int fds[10];

	ck_assert_int_gt(before, 0);
	ck_assert_int_eq(tc_fd_diff(), 0);
	for (unsigned i = 0; i < 10; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fds[i], 0);
	}
	ck_assert_int_eq(tc_count_fds(), before + 10);
	ck_assert_int_eq(tc_fd_diff(), 10);
	for (unsigned i = 0; i < 10; i++)
		close(fds[i]);
	ck_assert_int_eq(tc_count_fds(), before);
	ck_assert_int_eq(tc_fd_diff(), 0);
}
END_TEST

/* What a child sees when it opens an fd between the fixture's two counts. */
static int leak_between_counts(void *arg)
{
	tc_fd_setup();
	if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
		return 10;
	return tc_fd_diff() == 1 ? 0 : 11;
}

START_TEST(fixture_diff_sees_child_leak)
{
	tc_wait_child(tc_fork(leak_between_counts, NULL), 0);
}
END_TEST

/* The tests of the nested suite below; only fixture_proves_leaks runs them. */
static int inherited_fd = -1;

START_TEST(nested_leaks_one_fd)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	/* deliberately left open: the fixture must fail this test */
}
END_TEST

START_TEST(nested_closes_its_fd)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

START_TEST(nested_closes_foreign_fd)
{
	close(inherited_fd);
}
END_TEST

static int check_result(TestResult *tr, const char *tcname, int rtype, const char *needle)
{
	if (strcmp(tr_tcname(tr), tcname))
		return 0;
	if (tr_rtype(tr) != rtype) {
		fprintf(stderr, "nested case %s: result type %d, expected %d (%s)\n",
			tcname, tr_rtype(tr), rtype, tr_msg(tr) ? tr_msg(tr) : "");
		return -1;
	}
	if (needle && (!tr_msg(tr) || !strstr(tr_msg(tr), needle))) {
		fprintf(stderr, "nested case %s: message '%s' lacks '%s'\n", tcname,
			tr_msg(tr) ? tr_msg(tr) : "(none)", needle);
		return -1;
	}
	if (needle && tr_ctx(tr) != CK_CTX_TEARDOWN) {
		fprintf(stderr, "nested case %s failed outside the teardown\n", tcname);
		return -1;
	}
	return 1;
}

/*
 * Run a small suite through the real fixture, in fork mode like every test here, and
 * check that the leaking test and the test closing a foreign fd fail in teardown while
 * the clean one passes.
 */
static int run_nested_suite(void *arg)
{
	static const char *const ck_env[] = {
		"CK_RUN_SUITE",		"CK_RUN_CASE",	    "CK_INCLUDE_TAGS",
		"CK_EXCLUDE_TAGS",	"CK_LOG_FILE_NAME", "CK_XML_LOG_FILE_NAME",
		"CK_TAP_LOG_FILE_NAME", "CK_FORK",
	};
	Suite *s = suite_create("nested");
	TCase *leak = tc_case("leak"), *clean = tc_case("clean"),
	      *foreign = tc_case("foreign");
	TestResult **res;
	SRunner *sr;
	int seen = 0, n;

	/* the outer run's selection and log files must not apply to the nested run */
	for (unsigned i = 0; i < sizeof(ck_env) / sizeof(ck_env[0]); i++)
		unsetenv(ck_env[i]);
	inherited_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (inherited_fd < 0)
		return 20;
	tcase_add_test(leak, nested_leaks_one_fd);
	tcase_add_test(clean, nested_closes_its_fd);
	tcase_add_test(foreign, nested_closes_foreign_fd);
	suite_add_tcase(s, leak);
	suite_add_tcase(s, clean);
	suite_add_tcase(s, foreign);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_SILENT);
	n = srunner_ntests_run(sr);
	if (n != 3 || srunner_ntests_failed(sr) != 2) {
		fprintf(stderr, "nested suite: %d run, %d failed; expected 3 and 2\n", n,
			srunner_ntests_failed(sr));
		return 21;
	}
	res = srunner_results(sr);
	for (int i = 0; i < n; i++) {
		int a = check_result(res[i], "leak", CK_FAILURE, "1 fd left open");
		int b = check_result(res[i], "clean", CK_PASS, NULL);
		int c = check_result(res[i], "foreign", CK_FAILURE,
				     "closed that the test did not own");

		if (a < 0 || b < 0 || c < 0)
			return 22;
		seen += a + b + c;
	}
	free(res);
	srunner_free(sr);
	return seen == 3 ? 0 : 23;
}

START_TEST(fixture_fails_leaking_test)
{
	tc_wait_child(tc_fork(run_nested_suite, NULL), 0);
}
END_TEST

/* ---- round trips ---- */

START_TEST(roundtrip_each_type)
{
	for (unsigned i = 0; i < sizeof(all_types) / sizeof(all_types[0]); i++) {
		struct fdx_msg m = sample(all_types[i]);

		round_trip(&m);
	}
}
END_TEST

START_TEST(roundtrip_object_four_planes)
{
	struct fdx_msg m = sample_object4();

	round_trip(&m);

	/* four planes, each on an fd of its own */
	m = sample_object4();
	m.hdr.nfds = 4;
	for (unsigned i = 0; i < 4; i++) {
		m.u.object.planes[i].fd_index = 3 - i;
		m.u.object.planes[i].offset = 8192 * i;
	}
	round_trip(&m);
}
END_TEST

START_TEST(roundtrip_limits)
{
	struct fdx_msg m;
	uint8_t buf[WIRE_CAP];
	struct fdx_msg out;
	int n;

	/* the verdicts that carry no mismatch */
	m = sample(FDX_MSG_OBJECT_ACK);
	m.u.ack = (struct fdx_object_ack){ .index = UINT32_MAX,
					   .verdict = FDX_VERDICT_OK,
					   .first_mismatch = FDX_NO_OFFSET };
	round_trip(&m);
	m.u.ack.verdict = FDX_VERDICT_UNCHECKED;
	round_trip(&m);

	/* extreme numbers survive the trip */
	m = sample(FDX_MSG_BYE);
	m.hdr.seq = UINT32_MAX;
	m.u.bye = (struct fdx_bye){ UINT64_MAX, UINT64_MAX - 1, 1, 0 };
	round_trip(&m);
	m = sample(FDX_MSG_HELLO);
	m.hdr.seq = 0;
	m.u.hello.role = FDX_ROLE_CONSUMER;
	m.u.hello.caps = 0;
	m.u.hello.max_size = 0;
	m.u.hello.max_fds = UINT32_MAX;
	m.u.hello.name[0] = '\0';
	round_trip(&m);

	/* a 63-character name is the longest that fits with its NUL */
	memset(m.u.hello.name, 'n', FDX_NAME_MAX - 1);
	m.u.hello.name[FDX_NAME_MAX - 1] = '\0';
	round_trip(&m);

	/* an unterminated name field is cut by the encoder, never sent unterminated */
	memset(m.u.hello.name, 'q', FDX_NAME_MAX);
	n = encode_ok(&m, buf);
	ck_assert_int_eq(decode_exact(buf, (size_t)n, 0, &out), 0);
	ck_assert_uint_eq(strlen(out.u.hello.name), FDX_NAME_MAX - 1);
	m = sample(FDX_MSG_ERROR);
	memset(m.u.error.text, 'e', FDX_ERRTEXT_MAX);
	n = encode_ok(&m, buf);
	ck_assert_int_eq(decode_exact(buf, (size_t)n, 0, &out), 0);
	ck_assert_uint_eq(strlen(out.u.error.text), FDX_ERRTEXT_MAX - 1);
}
END_TEST

/* The byte layout of codec.h's table, so that the wire format cannot drift unnoticed. */
START_TEST(wire_layout)
{
	struct fdx_msg m = sample(FDX_MSG_HELLO);
	uint8_t buf[WIRE_CAP];
	struct fdx_hdr h;
	int n;

	m.hdr.seq = 0x11223344;
	n = encode_ok(&m, buf);
	ck_assert_int_eq(n, 24 + 96);
	ck_assert_mem_eq(buf, "FDX1", 4);
	ck_assert_uint_eq(buf[H_MAJOR], 1);
	ck_assert_uint_eq(buf[H_MINOR], 0);
	ck_assert_mem_eq(buf + H_TYPE, "\x01\x00", 2);
	ck_assert_mem_eq(buf + H_FLAGS, "\x00\x00", 2);
	ck_assert_mem_eq(buf + H_NFDS, "\x00\x00", 2);
	ck_assert_mem_eq(buf + H_LENGTH, "\x60\x00\x00\x00", 4);
	ck_assert_mem_eq(buf + H_SEQ, "\x44\x33\x22\x11", 4);
	ck_assert_mem_eq(buf + H_RSV, "\0\0\0\0", 4);
	ck_assert_uint_eq(buf[24 + 0], FDX_ROLE_PRODUCER);
	ck_assert_mem_eq(buf + 24 + 8, "\x92\x10\x00\x00", 4); /* pid 4242 */
	ck_assert_str_eq((const char *)buf + 24 + P_HELLO_NAME, "fdx-test-hello");

	ck_assert_int_eq(fdx_hdr_decode(buf, (size_t)n, &h), 0);
	ck_assert_uint_eq(h.magic, FDX_MAGIC);
	ck_assert_uint_eq(h.type, FDX_MSG_HELLO);
	ck_assert_uint_eq(h.length, 96);
	ck_assert_uint_eq(h.seq, 0x11223344);
}
END_TEST

/* fdx_hdr_decode is for framing: a header alone is enough, the payload is not checked. */
START_TEST(header_only_decode)
{
	struct fdx_msg m = sample_object4();
	uint8_t buf[WIRE_CAP];
	struct fdx_hdr h;

	encode_ok(&m, buf);
	ck_assert_int_eq(fdx_hdr_decode(buf, FDX_HDR_SIZE, &h), 0);
	ck_assert_uint_eq(h.type, FDX_MSG_OBJECT);
	ck_assert_uint_eq(h.nfds, 2);
	ck_assert_uint_eq(h.length, fdx_msg_payload_size(FDX_MSG_OBJECT));
	ck_assert_int_eq(fdx_hdr_decode(buf, FDX_HDR_SIZE - 1, &h), -ENODATA);
	tc_put32(buf, H_LENGTH, FDX_MAX_PAYLOAD + 1);
	ck_assert_int_eq(fdx_hdr_decode(buf, FDX_HDR_SIZE, &h), -EMSGSIZE);
	buf[H_MAGIC] ^= 0x20;
	ck_assert_int_eq(fdx_hdr_decode(buf, FDX_HDR_SIZE, &h), -EBADMSG);
}
END_TEST

/* ---- rejections, each with the errno codec.h documents ---- */

static size_t wire_of(const struct fdx_msg *src, uint8_t *buf)
{
	struct fdx_msg m = *src;

	return (size_t)encode_ok(&m, buf);
}

START_TEST(reject_bad_magic)
{
	struct fdx_msg m = sample(FDX_MSG_BYE);
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(&m, buf);

	for (unsigned i = 0; i < 4; i++) {
		buf[H_MAGIC + i] ^= 0x01;
		ck_assert_decode(buf, n, 0, -EBADMSG);
		buf[H_MAGIC + i] ^= 0x01;
	}
	/* the magic written big-endian, as a careless peer would */
	memcpy(buf, "1XDF", 4);
	ck_assert_decode(buf, n, 0, -EBADMSG);
	memset(buf, 0, 4);
	ck_assert_decode(buf, n, 0, -EBADMSG);
	ck_assert_decode(buf, FDX_HDR_SIZE, 0, -EBADMSG);
}
END_TEST

START_TEST(reject_major_version)
{
	static const uint8_t majors[] = { 0, 2, 3, 0x81, 0xff };
	struct fdx_msg m = sample(FDX_MSG_HELLO);
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(&m, buf);

	ck_assert_decode(buf, n, 0, 0);
	for (unsigned i = 0; i < sizeof(majors); i++) {
		buf[H_MAJOR] = majors[i];
		ck_assert_decode(buf, n, 0, -EPROTONOSUPPORT);
	}
}
END_TEST

START_TEST(reject_short_header)
{
	struct fdx_msg m = sample(FDX_MSG_BYE);
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(&m, buf);

	ck_assert_uint_gt(n, FDX_HDR_SIZE);
	ck_assert_decode(buf, 0, 0, -ENODATA);
	ck_assert_decode(buf, 1, 0, -ENODATA);
	ck_assert_decode(buf, FDX_HDR_SIZE - 1, 0, -ENODATA);
}
END_TEST

START_TEST(reject_lying_length)
{
	static uint8_t big[FDX_HDR_SIZE + FDX_MAX_PAYLOAD + 8];
	static const uint32_t huge[] = {
		UINT32_MAX,
		UINT32_MAX - 1,
		UINT32_MAX - (FDX_HDR_SIZE - 1) /* + header = 2^32 */,
		0x80000000u,
		2 * FDX_MAX_PAYLOAD,
		FDX_MAX_PAYLOAD + 1,
	};
	struct fdx_msg m = sample(FDX_MSG_BYE);
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(&m, buf);

	/* longer than the data, shorter than the data */
	tc_put32(buf, H_LENGTH, (uint32_t)(n - FDX_HDR_SIZE) + 1);
	ck_assert_decode(buf, n, 0, -EMSGSIZE);
	tc_put32(buf, H_LENGTH, (uint32_t)(n - FDX_HDR_SIZE) - 1);
	ck_assert_decode(buf, n, 0, -EMSGSIZE);
	tc_put32(buf, H_LENGTH, 0);
	ck_assert_decode(buf, n, 0, -EMSGSIZE);
	/* a correct length field but bytes missing */
	tc_put32(buf, H_LENGTH, (uint32_t)(n - FDX_HDR_SIZE));
	ck_assert_decode(buf, n - 1, 0, -EMSGSIZE);
	ck_assert_decode(buf, FDX_HDR_SIZE, 0, -EMSGSIZE);
	/* bytes beyond what the length announces */
	ck_assert_decode(buf, n + 1, 0, -EMSGSIZE);

	for (unsigned i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		tc_put32(buf, H_LENGTH, huge[i]);
		ck_assert_decode(buf, n, 0, -EMSGSIZE);
		ck_assert_decode(buf, FDX_HDR_SIZE, 0, -EMSGSIZE);
	}

	/* over FDX_MAX_PAYLOAD even with that much data, and at any minor */
	memset(big, 0, sizeof(big));
	memcpy(big, buf, FDX_HDR_SIZE);
	big[H_MINOR] = FDX_PROTO_MINOR + 1;
	tc_put32(big, H_LENGTH, FDX_MAX_PAYLOAD + 1);
	ck_assert_decode(big, FDX_HDR_SIZE + FDX_MAX_PAYLOAD + 1, 0, -EMSGSIZE);
	/* exactly FDX_MAX_PAYLOAD is within the limit: a newer minor may use it */
	tc_put32(big, H_LENGTH, FDX_MAX_PAYLOAD);
	ck_assert_decode(big, FDX_HDR_SIZE + FDX_MAX_PAYLOAD, 0, 0);
}
END_TEST

START_TEST(reject_payload_size_for_type)
{
	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct fdx_msg m = sample(all_types[t]);
		uint8_t buf[WIRE_CAP];
		size_t n = wire_of(&m, buf);
		size_t plen = n - FDX_HDR_SIZE;
		const size_t wrong[] = { 0, plen - 1, plen + 1, plen + 8 };

		for (unsigned i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
			size_t len = FDX_HDR_SIZE + wrong[i];
			uint8_t w[WIRE_CAP];
			int r;

			/* the length field agrees with the data, the type with neither */
			memset(w, 0, sizeof(w));
			memcpy(w, buf, n < len ? n : len);
			tc_put32(w, H_LENGTH, (uint32_t)wrong[i]);
			r = decode_exact(w, len, m.hdr.nfds, NULL);
			ck_assert_msg(r == -EMSGSIZE, "%s, %zu-byte payload: %d",
				      fdx_msg_type_name(all_types[t]), wrong[i], r);
		}
	}
}
END_TEST

START_TEST(minor_version_extension)
{
	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct fdx_msg m = sample(all_types[t]);
		struct fdx_msg out;
		uint8_t buf[WIRE_CAP];
		size_t n = wire_of(&m, buf);
		int r;

		/* a newer peer appends fields we do not know: accepted, ours kept */
		buf[H_MINOR] = FDX_PROTO_MINOR + 1;
		memset(buf + n, 0xa5, 16);
		tc_put32(buf, H_LENGTH, (uint32_t)(n - FDX_HDR_SIZE + 16));
		r = decode_exact(buf, n + 16, m.hdr.nfds, &out);
		ck_assert_msg(r == 0, "%s at minor %d with 16 more bytes: %d",
			      fdx_msg_type_name(all_types[t]), FDX_PROTO_MINOR + 1, r);
		ck_assert_uint_eq(out.hdr.version_minor, FDX_PROTO_MINOR + 1);
		m.hdr.magic = FDX_MAGIC;
		m.hdr.version_major = FDX_PROTO_MAJOR;
		assert_msg_eq(&m, &out);

		/* the highest minor too */
		buf[H_MINOR] = 0xff;
		ck_assert_int_eq(decode_exact(buf, n + 16, m.hdr.nfds, NULL), 0);

		/* but it may not drop fields we need */
		tc_put32(buf, H_LENGTH, (uint32_t)(n - FDX_HDR_SIZE - 1));
		ck_assert_int_eq(decode_exact(buf, n - 1, m.hdr.nfds, NULL), -EMSGSIZE);
		buf[H_MINOR] = FDX_PROTO_MINOR + 1;
		ck_assert_int_eq(decode_exact(buf, n - 1, m.hdr.nfds, NULL), -EMSGSIZE);
	}
}
END_TEST

START_TEST(reject_unknown_type)
{
	static const uint16_t types[] = { 0, FDX_MSG_TYPE_MAX + 1, 99, 0x8000, 0xffff };
	uint8_t buf[WIRE_CAP];
	struct fdx_msg m = sample(FDX_MSG_BYE);
	size_t n = wire_of(&m, buf);

	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		tc_put16(buf, H_TYPE, types[i]);
		/* with a payload and without one */
		tc_put32(buf, H_LENGTH, (uint32_t)(n - FDX_HDR_SIZE));
		ck_assert_decode(buf, n, 0, -ENOMSG);
		tc_put32(buf, H_LENGTH, 0);
		ck_assert_decode(buf, FDX_HDR_SIZE, 0, -ENOMSG);
	}
	ck_assert_uint_eq(fdx_msg_payload_size(0), 0);
	ck_assert_uint_eq(fdx_msg_payload_size(99), 0);
	ck_assert_str_eq(fdx_msg_type_name(99), "unknown");
}
END_TEST

START_TEST(reject_fd_count_mismatch)
{
	struct fdx_msg m1 = sample_object1(), m4 = sample_object4();
	uint8_t buf[WIRE_CAP];
	size_t n;

	/* the header says 1 */
	n = wire_of(&m1, buf);
	ck_assert_decode(buf, n, 1, 0);
	ck_assert_decode(buf, n, 0, -EBADFD);
	ck_assert_decode(buf, n, 2, -EBADFD);
	ck_assert_decode(buf, n, 253, -EBADFD);
	/* the header says 2 */
	n = wire_of(&m4, buf);
	ck_assert_decode(buf, n, 2, 0);
	ck_assert_decode(buf, n, 1, -EBADFD);
	ck_assert_decode(buf, n, 3, -EBADFD);
	/* an OBJECT must carry fds: header and reception agree on zero, still refused */
	m1.hdr.nfds = 0;
	n = wire_of(&m1, buf);
	ck_assert_decode(buf, n, 0, -EBADFD);
	/* a huge count in the header */
	tc_put16(buf, H_NFDS, 0xffff);
	ck_assert_decode(buf, n, 1, -EBADFD);
	ck_assert_decode(buf, n, 0xffff, -EBADFD);
}
END_TEST

START_TEST(reject_fds_on_non_object)
{
	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct fdx_msg m = sample(all_types[t]);
		uint8_t buf[WIRE_CAP];
		size_t n;

		if (all_types[t] == FDX_MSG_OBJECT)
			continue;
		n = wire_of(&m, buf);
		ck_assert_decode(buf, n, 0, 0);
		/* fds came that the header does not mention */
		ck_assert_decode(buf, n, 1, -EBADFD);
		/* the header admits them: still no fds on this type */
		m.hdr.nfds = 1;
		n = wire_of(&m, buf);
		ck_assert_decode(buf, n, 1, -EBADFD);
		m.hdr.nfds = 4;
		n = wire_of(&m, buf);
		ck_assert_decode(buf, n, 4, -EBADFD);
	}
}
END_TEST

START_TEST(reject_header_flags)
{
	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct fdx_msg m = sample(all_types[t]);
		uint8_t buf[WIRE_CAP];
		size_t n = wire_of(&m, buf);
		uint16_t base = m.hdr.flags;

		/* bits 0 (LAST) and 1 (STREAM) are known; every other one is refused */
		for (unsigned bit = 2; bit < 16; bit++) {
			tc_put16(buf, H_FLAGS, base | (uint16_t)(1u << bit));
			ck_assert_msg(decode_exact(buf, n, m.hdr.nfds, NULL) == -EPROTO,
				      "%s with unknown flag bit %u not refused",
				      fdx_msg_type_name(all_types[t]), bit);
		}
		tc_put16(buf, H_FLAGS, FDX_HF_LAST);
		ck_assert_decode(buf, n, m.hdr.nfds,
				 all_types[t] == FDX_MSG_OBJECT ? 0 : -EPROTO);
		/* a stream only follows the last object */
		tc_put16(buf, H_FLAGS, FDX_HF_LAST | FDX_HF_STREAM);
		ck_assert_decode(buf, n, m.hdr.nfds,
				 all_types[t] == FDX_MSG_OBJECT ? 0 : -EPROTO);
		tc_put16(buf, H_FLAGS, FDX_HF_STREAM);
		ck_assert_decode(buf, n, m.hdr.nfds, -EPROTO);
	}
}
END_TEST

START_TEST(reject_unterminated_strings)
{
	struct fdx_msg m = sample(FDX_MSG_HELLO);
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(&m, buf);

	memset(buf + FDX_HDR_SIZE + P_HELLO_NAME, 'A', FDX_NAME_MAX);
	ck_assert_decode(buf, n, 0, -EPROTO);
	/* a NUL in the very last byte is enough */
	buf[FDX_HDR_SIZE + P_HELLO_NAME + FDX_NAME_MAX - 1] = '\0';
	ck_assert_decode(buf, n, 0, 0);

	m = sample(FDX_MSG_ERROR);
	n = wire_of(&m, buf);
	memset(buf + FDX_HDR_SIZE + P_ERROR_TEXT, 'x', FDX_ERRTEXT_MAX);
	ck_assert_decode(buf, n, 0, -EPROTO);
	buf[FDX_HDR_SIZE + P_ERROR_TEXT + FDX_ERRTEXT_MAX - 1] = '\0';
	ck_assert_decode(buf, n, 0, 0);
}
END_TEST

/* Set one byte at off nonzero and expect -EPROTO. */
static void expect_reserved(const struct fdx_msg *m, size_t off, const char *what)
{
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(m, buf);

	ck_assert_uint_lt(off, n);
	ck_assert_uint_eq(buf[off], 0);
	buf[off] = 0x01;
	ck_assert_msg(decode_exact(buf, n, m->hdr.nfds, NULL) == -EPROTO,
		      "%s: nonzero reserved byte %zu accepted", what, off);
	buf[off] = 0x80;
	ck_assert_msg(decode_exact(buf, n, m->hdr.nfds, NULL) == -EPROTO,
		      "%s: nonzero reserved byte %zu accepted", what, off);
}

START_TEST(reject_reserved_fields)
{
	struct fdx_msg m;

	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		m = sample(all_types[t]);
		for (size_t off = H_RSV; off < H_RSV + 4; off++)
			expect_reserved(&m, off, "header");
	}
	m = sample(FDX_MSG_HELLO);
	expect_reserved(&m, FDX_HDR_SIZE + P_HELLO_RSV1, "HELLO");
	for (size_t off = 0; off < 2; off++)
		expect_reserved(&m, FDX_HDR_SIZE + P_HELLO_RSV2 + off, "HELLO");
	for (size_t off = 0; off < 4; off++)
		expect_reserved(&m, FDX_HDR_SIZE + P_HELLO_RSV20 + off, "HELLO");
	m = sample(FDX_MSG_READY);
	for (size_t off = 0; off < 4; off++)
		expect_reserved(&m, FDX_HDR_SIZE + P_READY_RSV + off, "READY");
	m = sample(FDX_MSG_ERROR);
	for (size_t off = 0; off < 4; off++)
		expect_reserved(&m, FDX_HDR_SIZE + P_ERROR_RSV + off, "ERROR");
	/* the plane slots an object does not use */
	m = sample_object1();
	for (unsigned pl = 1; pl < FDX_MAX_PLANES; pl++)
		for (size_t off = 0; off < 32; off += 5)
			expect_reserved(&m, FDX_HDR_SIZE + P_OBJ_PLANE(pl) + off,
					"OBJECT plane");
}
END_TEST

START_TEST(reject_hello_values)
{
	struct fdx_msg m;
	uint8_t buf[WIRE_CAP];
	struct fdx_msg out;
	size_t n;

	m = sample(FDX_MSG_HELLO);
	m.u.hello.role = 0;
	ck_assert_decode(buf, wire_of(&m, buf), 0, -EPROTO);
	m.u.hello.role = 3;
	ck_assert_decode(buf, wire_of(&m, buf), 0, -EPROTO);
	m = sample(FDX_MSG_HELLO);
	m.u.hello.max_fds = 0;
	ck_assert_decode(buf, wire_of(&m, buf), 0, -EPROTO);
	m = sample(FDX_MSG_HELLO);
	m.u.hello.max_objects = 0;
	ck_assert_decode(buf, wire_of(&m, buf), 0, -EPROTO);
	/* codec.c's documented policy: capability bits of a later version are ignored */
	m = sample(FDX_MSG_HELLO);
	m.u.hello.caps = FDX_CAP_KNOWN | 0x80000000u;
	n = wire_of(&m, buf);
	ck_assert_int_eq(decode_exact(buf, n, 0, &out), 0);
}
END_TEST

static void expect_object(const struct fdx_msg *src, unsigned nfds, int want,
			  const char *what)
{
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(src, buf);
	int r = decode_exact(buf, n, nfds, NULL);

	ck_assert_msg(r == want, "%s: decode returned %d (%s), expected %d (%s)", what, r,
		      strerror(-r), want, strerror(-want));
}

START_TEST(reject_object_planes)
{
	struct fdx_msg m;
	struct fdx_object *o = &m.u.object;

	m = sample_object1();
	o->nplanes = 0;
	expect_object(&m, 1, -EPROTO, "nplanes 0");
	m = sample_object4();
	o->nplanes = FDX_MAX_PLANES + 1;
	expect_object(&m, 2, -EPROTO, "nplanes 5");
	o->nplanes = 0xffff;
	expect_object(&m, 2, -EPROTO, "nplanes 65535");

	m = sample_object1();
	o->planes[0].size = 0;
	o->size = 0;
	expect_object(&m, 1, -EPROTO, "plane size 0");
	m = sample_object4();
	o->size -= o->planes[3].size;
	o->planes[3].size = 0;
	expect_object(&m, 2, -EPROTO, "fourth plane size 0");

	m = sample_object1();
	o->planes[0].offset = UINT64_MAX - 10;
	o->planes[0].size = 100;
	o->size = 100;
	expect_object(&m, 1, -EPROTO, "offset + size wraps");
	o->planes[0].offset = 1;
	o->planes[0].size = UINT64_MAX;
	o->size = UINT64_MAX;
	expect_object(&m, 1, -EPROTO, "offset 1 + size UINT64_MAX wraps");

	/* plane 3 reaches back one byte into plane 1 on fd 1 */
	m = sample_object4();
	o->planes[3].offset = 1999;
	expect_object(&m, 2, -EPROTO, "overlapping planes");
	/* plane 2 the same range as plane 0 */
	m = sample_object4();
	o->planes[2].offset = 0;
	o->planes[2].size = 1000;
	o->size = 1000 + 2000 + 1000 + 7;
	expect_object(&m, 2, -EPROTO, "identical planes");
	/* plane 2 inside plane 0 */
	m = sample_object4();
	o->planes[2].offset = 10;
	o->planes[2].size = 10;
	o->size = 1000 + 2000 + 10 + 7;
	expect_object(&m, 2, -EPROTO, "nested planes");
	/* the same ranges on different fds do not overlap */
	m = sample_object4();
	m.hdr.nfds = 4;
	for (unsigned i = 0; i < 4; i++) {
		o->planes[i].fd_index = i;
		o->planes[i].offset = 0;
	}
	expect_object(&m, 4, 0, "equal offsets on four fds");

	m = sample_object4();
	o->size += 1;
	expect_object(&m, 2, -EPROTO, "size one more than the planes");
	o->size -= 2;
	expect_object(&m, 2, -EPROTO, "size one less than the planes");
	/* two planes of 2^63 bytes: the sum wraps to 0, which must not pass for size 0 */
	m = sample_object4();
	o->nplanes = 2;
	memset(&o->planes[2], 0, 2 * sizeof(o->planes[0]));
	o->planes[0].size = 1ull << 63;
	o->planes[1].size = 1ull << 63;
	o->size = 0;
	expect_object(&m, 2, -EPROTO, "plane sizes wrap");

	/* an fd that no plane refers to */
	m = sample_object1();
	m.hdr.nfds = 2;
	expect_object(&m, 2, -EBADFD, "unreferenced second fd");
	m = sample_object4();
	o->planes[1].fd_index = 0;
	o->planes[1].offset = 10000;
	o->planes[3].fd_index = 0;
	o->planes[3].offset = 20000;
	expect_object(&m, 2, -EBADFD, "fd 1 unused by four planes");
	/* a plane on an fd that did not come */
	m = sample_object1();
	o->planes[0].fd_index = 1;
	expect_object(&m, 1, -EBADFD, "fd_index 1 of 1 fd");
	o->planes[0].fd_index = UINT32_MAX;
	expect_object(&m, 1, -EBADFD, "fd_index UINT32_MAX");
	m = sample_object4();
	o->planes[2].fd_index = 2;
	expect_object(&m, 2, -EBADFD, "fd_index 2 of 2 fds");
	/* more fds than planes */
	m = sample_object1();
	m.hdr.nfds = 4;
	expect_object(&m, 4, -EBADFD, "four fds for one plane");
}
END_TEST

START_TEST(reject_object_descriptors)
{
	struct fdx_msg m;
	struct fdx_object *o = &m.u.object;

	/* raw objects have no image geometry */
	m = sample_object1();
	o->format = 0x34325258;
	expect_object(&m, 1, -EPROTO, "raw with a format");
	m = sample_object1();
	o->width = 16;
	expect_object(&m, 1, -EPROTO, "raw with a width");
	m = sample_object1();
	o->height = 16;
	expect_object(&m, 1, -EPROTO, "raw with a height");
	m = sample_object1();
	o->planes[0].stride = 64;
	expect_object(&m, 1, -EPROTO, "raw with a stride");
	m = sample_object4();
	o->kind = FDX_KIND_RAW;
	o->format = o->width = o->height = 0;
	for (unsigned i = 0; i < 4; i++)
		o->planes[i].stride = o->planes[i].width = o->planes[i].height = 0;
	expect_object(&m, 2, -EPROTO, "raw with four planes");

	/* enum values outside their lists */
	m = sample_object1();
	o->kind = 0;
	expect_object(&m, 1, -EPROTO, "kind 0");
	o->kind = FDX_KIND_IMAGE + 1;
	expect_object(&m, 1, -EPROTO, "kind 3");
	m = sample_object1();
	o->backend = 0;
	expect_object(&m, 1, -EPROTO, "backend 0");
	o->backend = FDX_BACKEND_MAX + 1;
	expect_object(&m, 1, -EPROTO, "backend past the last");
	m = sample_object1();
	o->content = FDX_CONTENT_CHECKSUM + 1;
	expect_object(&m, 1, -EPROTO, "content 3");
}
END_TEST

START_TEST(reject_ack_contradictions)
{
	static const struct fdx_object_ack bad[] = {
		/* index, verdict, first_mismatch, mismatched_bytes */
		{ 0, FDX_VERDICT_OK, FDX_NO_OFFSET, 5 },
		{ 0, FDX_VERDICT_OK, 0, 0 },
		/* located needs both, unlocated (a checksum) neither */
		{ 0, FDX_VERDICT_MISMATCH, 10, 0 },
		{ 0, FDX_VERDICT_MISMATCH, FDX_NO_OFFSET, 3 },
		{ 0, FDX_VERDICT_UNCHECKED, FDX_NO_OFFSET, 1 },
		{ 0, FDX_VERDICT_UNCHECKED, 7, 0 },
		{ 0, FDX_VERDICT_MAX + 1, FDX_NO_OFFSET, 0 },
		{ 0, UINT32_MAX, 1, 1 },
	};
	struct fdx_msg m = sample(FDX_MSG_OBJECT_ACK);
	uint8_t buf[WIRE_CAP];

	ck_assert_decode(buf, wire_of(&m, buf), 0, 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.u.ack = bad[i];
		ck_assert_msg(decode_exact(buf, wire_of(&m, buf), 0, NULL) == -EPROTO,
			      "contradictory ACK %u accepted", i);
	}
	/* a checksum that differs says so without an offset: accepted as it is */
	m.u.ack = (struct fdx_object_ack){ 2, FDX_VERDICT_MISMATCH, FDX_NO_OFFSET, 0 };
	{
		struct fdx_msg out;

		ck_assert_int_eq(decode_exact(buf, wire_of(&m, buf), 0, &out), 0);
		ck_assert_uint_eq(out.u.ack.verdict, FDX_VERDICT_MISMATCH);
		ck_assert_uint_eq(out.u.ack.first_mismatch, FDX_NO_OFFSET);
		ck_assert_uint_eq(out.u.ack.mismatched_bytes, 0);
	}
	m = sample(FDX_MSG_RELEASE);
	m.u.release.verdict = FDX_VERDICT_MAX + 1;
	ck_assert_decode(buf, wire_of(&m, buf), 0, -EPROTO);
}
END_TEST

START_TEST(encode_errors)
{
	static const unsigned types[] = { 0, FDX_MSG_TYPE_MAX + 1, 99, 0xffff };
	uint8_t buf[WIRE_CAP];

	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct fdx_msg m = sample(all_types[t]);
		size_t need = FDX_HDR_SIZE + fdx_msg_payload_size(all_types[t]);

		/* nothing may be written past cap */
		memset(buf, 0xee, sizeof(buf));
		ck_assert_int_eq(fdx_msg_encode(&m, buf, need - 1), -ENOSPC);
		for (size_t i = need - 1; i < sizeof(buf); i++)
			ck_assert_uint_eq(buf[i], 0xee);
		ck_assert_int_eq(fdx_msg_encode(&m, buf, 0), -ENOSPC);
		ck_assert_int_eq(fdx_msg_encode(&m, buf, FDX_HDR_SIZE), -ENOSPC);
		ck_assert_int_eq(fdx_msg_encode(&m, buf, need), (int)need);
		ck_assert_uint_eq(buf[need], 0xee);
	}
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct fdx_msg m = sample(FDX_MSG_BYE);

		m.hdr.type = (uint16_t)types[i];
		ck_assert_int_eq(fdx_msg_encode(&m, buf, sizeof(buf)), -EINVAL);
	}
}
END_TEST

/* ---- truncation and fuzzing ---- */

START_TEST(every_truncation_fails)
{
	struct fdx_msg m = sample_object4();
	uint8_t buf[WIRE_CAP];
	size_t n = wire_of(&m, buf);

	for (size_t len = 0; len < n; len++) {
		int want = len < FDX_HDR_SIZE ? -ENODATA : -EMSGSIZE;
		int r = decode_exact(buf, len, m.hdr.nfds, NULL);
		uint8_t fixed[WIRE_CAP];

		ck_assert_msg(r == want, "OBJECT cut to %zu bytes: %d, expected %d", len, r,
			      want);
		if (len < FDX_HDR_SIZE)
			continue;
		/* the same cut, length field agreeing: still too short for OBJECT */
		memcpy(fixed, buf, len);
		tc_put32(fixed, H_LENGTH, (uint32_t)(len - FDX_HDR_SIZE));
		r = decode_exact(fixed, len, m.hdr.nfds, NULL);
		ck_assert_msg(r == -EMSGSIZE, "OBJECT cut to %zu bytes, length fixed: %d",
			      len, r);
	}
}
END_TEST

static bool documented_error(int r)
{
	switch (r) {
	case -ENODATA:
	case -EBADMSG:
	case -EPROTONOSUPPORT:
	case -ENOMSG:
	case -EMSGSIZE:
	case -EBADFD:
	case -EPROTO:
		return true;
	}
	return false;
}

/*
 * What any accepted message must satisfy: header sane, and it survives re-encoding (the
 * decoder accepted nothing the encoder could not express).
 */
static void check_accepted(const uint8_t *buf, size_t len, unsigned nfds,
			   const struct fdx_msg *m)
{
	uint8_t again[WIRE_CAP];
	struct fdx_msg m2 = *m, out;
	uint32_t magic;
	int n, r;

	memcpy(&magic, buf, 4);
	ck_assert_uint_eq(le32toh(magic), FDX_MAGIC);
	ck_assert_uint_eq(m->hdr.magic, FDX_MAGIC);
	ck_assert_uint_eq(buf[H_MAJOR], FDX_PROTO_MAJOR);
	ck_assert_uint_eq(m->hdr.length, len - FDX_HDR_SIZE);
	ck_assert_uint_eq(m->hdr.nfds, nfds);
	ck_assert_uint_ge(m->hdr.type, 1);
	ck_assert_uint_le(m->hdr.type, FDX_MSG_TYPE_MAX);
	ck_assert_uint_ge(m->hdr.length, fdx_msg_payload_size(m->hdr.type));
	n = fdx_msg_encode(&m2, again, sizeof(again));
	ck_assert_int_gt(n, 0);
	r = decode_exact(again, (size_t)n, nfds, &out);
	ck_assert_msg(r == 0, "accepted %s does not survive re-encoding: %d",
		      fdx_msg_type_name(m->hdr.type), r);
	assert_msg_eq(m, &out);
}

START_TEST(random_garbage)
{
	uint8_t buf[FDX_MSG_MAX + 32];
	unsigned accepted = 0;

	srand(0x5eed);
	for (unsigned iter = 0; iter < 200000; iter++) {
		size_t len = (size_t)rand() % (iter % 16 ? 256 : sizeof(buf));
		unsigned nfds = (unsigned)rand() % 6;
		struct fdx_msg m;
		int r;

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		/* steer most inputs past the first checks so the deeper ones run too */
		if (len >= FDX_HDR_SIZE && iter % 4) {
			unsigned type = 1 + (unsigned)rand() % FDX_MSG_TYPE_MAX;
			size_t plen = fdx_msg_payload_size(type);

			tc_put32(buf, H_MAGIC, FDX_MAGIC);
			buf[H_MAJOR] = FDX_PROTO_MAJOR;
			buf[H_MINOR] = iter % 8 ? 0 : buf[H_MINOR];
			tc_put16(buf, H_TYPE, (uint16_t)type);
			tc_put16(buf, H_FLAGS, rand() % 4 ? 0 : (uint16_t)(rand() % 3));
			tc_put16(buf, H_NFDS, (uint16_t)nfds);
			tc_put32(buf, H_RSV, 0);
			if (iter % 3 && FDX_HDR_SIZE + plen <= sizeof(buf))
				len = FDX_HDR_SIZE + plen;
			tc_put32(buf, H_LENGTH, (uint32_t)(len - FDX_HDR_SIZE));
		}
		r = decode_exact(buf, len, nfds, &m);
		ck_assert_msg(r == 0 || documented_error(r), "undocumented decode error %d",
			      r);
		if (r == 0) {
			accepted++;
			check_accepted(buf, len, nfds, &m);
		}
	}
	/* right-sized random READY and BYE payloads pass: the steering works */
	ck_assert_uint_gt(accepted, 0);
}
END_TEST

START_TEST(mutated_messages)
{
	struct fdx_msg samples[sizeof(all_types) / sizeof(all_types[0]) + 1];
	unsigned ns = 0;

	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++)
		samples[ns++] = sample(all_types[t]);
	samples[ns++] = sample_object4();
	srand(0xf00d);
	for (unsigned iter = 0; iter < 100000; iter++) {
		const struct fdx_msg *src = &samples[iter % ns];
		uint8_t buf[WIRE_CAP];
		size_t n = wire_of(src, buf);
		unsigned flips = 1 + (unsigned)rand() % 3;
		struct fdx_msg m;
		int r;

		for (unsigned k = 0; k < flips; k++)
			buf[(size_t)rand() % n] ^= (uint8_t)(1u << (rand() % 8));
		r = decode_exact(buf, n, src->hdr.nfds, &m);
		ck_assert_msg(r == 0 || documented_error(r), "undocumented decode error %d",
			      r);
		if (r == 0)
			check_accepted(buf, n, src->hdr.nfds, &m);
	}
}
END_TEST

/* ---- names ---- */

START_TEST(names_and_strerror)
{
	static const int errs[] = { -ENODATA,  -EBADMSG, -EPROTONOSUPPORT, -ENOMSG,
				    -EMSGSIZE, -EBADFD,	 -EPROTO };
	struct fdx_msg m = sample_object1();
	char line[256];

	for (unsigned t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		ck_assert_str_ne(fdx_msg_type_name(all_types[t]), "unknown");
		for (unsigned u = 0; u < t; u++)
			ck_assert_str_ne(fdx_msg_type_name(all_types[t]),
					 fdx_msg_type_name(all_types[u]));
	}
	ck_assert_str_eq(fdx_msg_type_name(FDX_MSG_OBJECT), "OBJECT");
	/* one distinct text per decode error, so messages can tell them apart */
	for (unsigned i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ck_assert_ptr_nonnull(fdx_codec_strerror(errs[i]));
		ck_assert_uint_gt(strlen(fdx_codec_strerror(errs[i])), 0);
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(fdx_codec_strerror(errs[i]),
					 fdx_codec_strerror(errs[j]));
	}
	ck_assert_str_eq(fdx_codec_strerror(-EBADMSG), "bad magic");
	ck_assert_str_eq(fdx_verdict_name(FDX_VERDICT_OK), "ok");
	ck_assert_str_eq(fdx_role_name(FDX_ROLE_CONSUMER), "consumer");
	ck_assert_str_eq(fdx_backend_name(FDX_BACKEND_MEMFD), "memfd");
	ck_assert_str_eq(fdx_backend_name(0), "unknown");

	ck_assert_int_gt(fdx_msg_describe(&m, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "OBJECT"));
	ck_assert_ptr_nonnull(strstr(line, "last"));
	/* a tiny buffer is cut, never overrun */
	memset(line, 0x7f, sizeof(line));
	fdx_msg_describe(&m, line, 8);
	ck_assert_uint_le(strnlen(line, 8), 7);
	ck_assert_uint_eq((uint8_t)line[8], 0x7f);
}
END_TEST

/* ---- DATA and copy objects (the --copy baseline) ---- */

/* A DATA record: header and head from the encoder, then n bytes of value v. */
static size_t data_record(uint8_t *buf, uint32_t buffer, uint64_t offset, uint32_t n,
			  uint8_t v)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_DATA, .hdr.seq = 9 };
	int h;

	m.u.data.buffer = buffer;
	m.u.data.offset = offset;
	m.u.data.len = n;
	h = fdx_msg_encode(&m, buf, FDX_HDR_SIZE + FDX_DATA_HEAD);
	ck_assert_int_eq(h, FDX_HDR_SIZE + FDX_DATA_HEAD);
	memset(buf + h, v, n);
	return (size_t)h + n;
}

START_TEST(data_round_trip)
{
	static uint8_t buf[FDX_HDR_SIZE + FDX_DATA_HEAD + FDX_DATA_MAX];
	static const uint32_t sizes[] = { 1, 7, 4096, FDX_DATA_MAX };
	struct fdx_msg m;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = data_record(buf, 3, 1u << 20, sizes[i], 0x5a);

		/* whole, as fdx_msg_decode sees a record */
		ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &m), 0);
		ck_assert_uint_eq(m.hdr.type, FDX_MSG_DATA);
		ck_assert_uint_eq(m.hdr.length, FDX_DATA_HEAD + sizes[i]);
		ck_assert_uint_eq(m.u.data.buffer, 3);
		ck_assert_uint_eq(m.u.data.offset, 1u << 20);
		ck_assert_uint_eq(m.u.data.len, sizes[i]);
		ck_assert_ptr_eq(m.u.data.bytes, buf + FDX_HDR_SIZE + FDX_DATA_HEAD);
		/* in two parts, as a consumer receives it into its own memory */
		ck_assert_int_eq(fdx_data_decode(buf, n, 0, &m), 0);
		ck_assert_uint_eq(m.u.data.len, sizes[i]);
		ck_assert_ptr_null(m.u.data.bytes);
	}
}
END_TEST

START_TEST(data_rejects)
{
	static uint8_t buf[FDX_HDR_SIZE + FDX_DATA_HEAD + FDX_DATA_MAX + 8];
	struct fdx_msg m = { .hdr.type = FDX_MSG_DATA };
	size_t n;

	/* the encoder refuses empty and oversized DATA */
	m.u.data.len = 0;
	ck_assert_int_eq(fdx_msg_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.u.data.len = FDX_DATA_MAX + 1;
	ck_assert_int_eq(fdx_msg_encode(&m, buf, sizeof(buf)), -EINVAL);

	/* no bytes after the head */
	n = data_record(buf, 0, 0, 1, 0);
	tc_put32(buf, 12, FDX_DATA_HEAD);
	ck_assert_int_eq(fdx_msg_decode(buf, n - 1, 0, &m), -EMSGSIZE);
	/* more than FDX_DATA_MAX */
	n = data_record(buf, 0, 0, FDX_DATA_MAX, 0);
	tc_put32(buf, 12, FDX_DATA_HEAD + FDX_DATA_MAX + 1);
	ck_assert_int_eq(fdx_msg_decode(buf, n + 1, 0, &m), -EMSGSIZE);
	/* length that disagrees with the record, either way */
	n = data_record(buf, 0, 0, 100, 0);
	ck_assert_int_eq(fdx_msg_decode(buf, n - 1, 0, &m), -EMSGSIZE);
	ck_assert_int_eq(fdx_data_decode(buf, n + 1, 0, &m), -EMSGSIZE);
	/* reserved field, fds, flags */
	n = data_record(buf, 0, 0, 100, 0);
	tc_put32(buf, FDX_HDR_SIZE + 4, 1);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &m), -EPROTO);
	n = data_record(buf, 0, 0, 100, 0);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 1, &m), -EBADFD);
	tc_put16(buf, 8, FDX_HF_LAST);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &m), -EPROTO);
	/* fdx_data_decode is for DATA only */
	n = wire_of(&(struct fdx_msg){ .hdr.type = FDX_MSG_BYE }, buf);
	ck_assert_int_eq(fdx_data_decode(buf, n, 0, &m), -ENOMSG);
}
END_TEST

/* A copy object has no fd and every plane in fd 0; with an fd it is refused. */
START_TEST(copy_objects)
{
	struct fdx_msg m = sample_object1();
	uint8_t buf[WIRE_CAP];
	struct fdx_msg out;
	size_t n;

	m.u.object.backend = FDX_BACKEND_COPY;
	m.hdr.nfds = 0;
	n = wire_of(&m, buf);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &out), 0);
	ck_assert_uint_eq(out.u.object.backend, FDX_BACKEND_COPY);
	ck_assert_str_eq(fdx_backend_name(FDX_BACKEND_COPY), "copy");

	m.hdr.nfds = 1;
	n = wire_of(&m, buf);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 1, &out), -EBADFD);

	/* planes may sit anywhere in the one buffer the consumer makes... */
	m.hdr.nfds = 0;
	m.u.object.planes[0].offset = 8;
	m.u.object.size = m.u.object.planes[0].size;
	n = wire_of(&m, buf);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &out), 0);
	/* ...but there is no second buffer */
	m.u.object.planes[0].fd_index = 1;
	n = wire_of(&m, buf);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &out), -EPROTO);

	/* an image copies as well: two planes, both in the consumer's one buffer */
	m = sample_object1();
	m.hdr.nfds = 0;
	m.u.object.backend = FDX_BACKEND_COPY;
	m.u.object.kind = FDX_KIND_IMAGE;
	m.u.object.format = 5; /* nv12 */
	m.u.object.width = 4;
	m.u.object.height = 2;
	m.u.object.nplanes = 2;
	m.u.object.planes[0] =
		(struct fdx_plane){ .stride = 4, .size = 8, .width = 4, .height = 2 };
	m.u.object.planes[1] = (struct fdx_plane){
		.stride = 4, .offset = 8, .size = 4, .width = 2, .height = 1
	};
	m.u.object.size = 12;
	n = wire_of(&m, buf);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &out), 0);
	ck_assert_uint_eq(out.u.object.nplanes, 2);
	m.u.object.planes[1].fd_index = 1;
	n = wire_of(&m, buf);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &out), -EPROTO);

	/* an fd buffer without its fd is still refused */
	m = sample_object1();
	m.hdr.nfds = 0;
	n = wire_of(&m, buf);
	ck_assert_int_eq(fdx_msg_decode(buf, n, 0, &out), -EBADFD);
}
END_TEST

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tc_case("data");
	tcase_add_test(tc, data_round_trip);
	tcase_add_test(tc, data_rejects);
	tcase_add_test(tc, copy_objects);
	suite_add_tcase(s, tc);

	tc = tc_case("fixture");
	tcase_add_test(tc, fixture_counts_fds);
	tcase_add_test(tc, fixture_diff_sees_child_leak);
	tcase_add_test(tc, fixture_fails_leaking_test);
	suite_add_tcase(s, tc);

	tc = tc_case("roundtrip");
	tcase_add_test(tc, roundtrip_each_type);
	tcase_add_test(tc, roundtrip_object_four_planes);
	tcase_add_test(tc, roundtrip_limits);
	tcase_add_test(tc, wire_layout);
	tcase_add_test(tc, header_only_decode);
	suite_add_tcase(s, tc);

	tc = tc_case("reject");
	tcase_add_test(tc, reject_bad_magic);
	tcase_add_test(tc, reject_major_version);
	tcase_add_test(tc, reject_short_header);
	tcase_add_test(tc, reject_lying_length);
	tcase_add_test(tc, reject_payload_size_for_type);
	tcase_add_test(tc, minor_version_extension);
	tcase_add_test(tc, reject_unknown_type);
	tcase_add_test(tc, reject_fd_count_mismatch);
	tcase_add_test(tc, reject_fds_on_non_object);
	tcase_add_test(tc, reject_header_flags);
	tcase_add_test(tc, reject_unterminated_strings);
	tcase_add_test(tc, reject_reserved_fields);
	tcase_add_test(tc, reject_hello_values);
	tcase_add_test(tc, reject_object_planes);
	tcase_add_test(tc, reject_object_descriptors);
	tcase_add_test(tc, reject_ack_contradictions);
	tcase_add_test(tc, encode_errors);
	suite_add_tcase(s, tc);

	tc = tc_case("fuzz");
	tcase_add_test(tc, every_truncation_fails);
	tcase_add_test(tc, random_garbage);
	tcase_add_test(tc, mutated_messages);
	suite_add_tcase(s, tc);

	tc = tc_case("names");
	tcase_add_test(tc, names_and_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(codec_suite());
}
