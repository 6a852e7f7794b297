/* raw-peer.c - a misbehaving producer built from raw sendmsg, to test fdx connect's
 * defences
 *
 * usage: raw-peer SOCKET MODE            a producer: listens, accepts one client
 *        raw-peer --consumer SOCKET MODE  a consumer: connects to a server
 * It greets the other side as fdx would, then breaks the protocol the way MODE says.
 * Afterwards it prints what the other side answered ("ERROR 3: text", "EOF") so a test
 * can check that fdx told its peer why it gave up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "codec.h"
#include "pattern.h"

static int die(const char *what)
{
	fprintf(stderr, "raw-peer: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* sendmsg with exactly the fds given, whatever the header claims */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	char ctl[CMSG_SPACE(sizeof(int) * 8)] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
		/* a peer that turned SO_PASSRIGHTS off: the kernel itself refuses the fds
		 */
		if (errno == EPERM && nfds) {
			printf("REFUSED BY THE KERNEL\n");
			exit(0);
		}
		die("sendmsg");
	}
}

static size_t encode(struct fdx_msg *m, uint8_t *buf, uint32_t seq, uint16_t nfds)
{
	m->hdr.seq = seq;
	m->hdr.nfds = nfds;
	int n = fdx_msg_encode(m, buf, FDX_MSG_MAX);

	if (n < 0) {
		fprintf(stderr, "raw-peer: encode failed\n");
		exit(2);
	}
	return (size_t)n;
}

static int memfd(uint64_t size, unsigned seals)
{
	int fd = memfd_create("raw-peer", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die("memfd");
	if (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)
		die("F_ADD_SEALS");
	return fd;
}

static void send_object(int sock, uint32_t seq, uint64_t claimed, const int *fds,
			unsigned nfds, uint16_t hdr_nfds)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.flags = FDX_HF_LAST };
	uint8_t buf[FDX_MSG_MAX];
	size_t n;

	m.u.object.kind = FDX_KIND_RAW;
	m.u.object.backend = FDX_BACKEND_MEMFD;
	m.u.object.nplanes = 1;
	m.u.object.content = FDX_CONTENT_PATTERN;
	m.u.object.size = claimed;
	m.u.object.planes[0].size = claimed;
	n = encode(&m, buf, seq, hdr_nfds);
	send_raw(sock, buf, n, fds, nfds);
}

/*
 * Image objects a consumer must refuse, or find wrong: an NV12 8x4 image (Y: 4 rows of
 * 8 at offset 0, UV: 2 rows of 8 at offset 32) laid out wrongly, in a buffer too small,
 * with a pipe for a plane's fd, or an RGB24 image whose checksum is wrong.
 */
static void send_image(int sock, const char *mode)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.flags = FDX_HF_LAST };
	struct fdx_object *o = &m.u.object;
	const unsigned seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	uint8_t buf[FDX_MSG_MAX];
	int fds[2], nfds = 1;
	size_t n;

	o->kind = FDX_KIND_IMAGE;
	o->backend = FDX_BACKEND_MEMFD;
	o->format = 5; /* nv12 */
	o->width = 8;
	o->height = 4;
	o->nplanes = 2;
	o->content = FDX_CONTENT_PATTERN;
	o->size = 48;
	o->planes[0] =
		(struct fdx_plane){ .stride = 8, .size = 32, .width = 8, .height = 4 };
	o->planes[1] = (struct fdx_plane){
		.stride = 8, .offset = 32, .size = 16, .width = 4, .height = 2
	};
	fds[0] = memfd(48, seals);
	if (!strcmp(mode, "image-stride")) {
		o->planes[0].stride = 4;
	} else if (!strcmp(mode, "image-past-end")) {
		close(fds[0]);
		fds[0] = memfd(40, seals);
	} else if (!strcmp(mode, "image-pipe")) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		close(fds[0]);
		fds[0] = memfd(32, seals);
		fds[1] = p[0];
		nfds = 2;
		o->planes[1].fd_index = 1;
		o->planes[1].offset = 0;
	} else { /* image-checksum: 4x2 RGB24 of bytes 0..23, a checksum that is not theirs
		  */
		uint8_t px[24];

		for (unsigned i = 0; i < sizeof(px); i++)
			px[i] = (uint8_t)i;
		close(fds[0]);
		fds[0] = memfd(0, 0);
		if (write(fds[0], px, sizeof(px)) != sizeof(px) ||
		    fcntl(fds[0], F_ADD_SEALS, seals) < 0)
			die("memfd");
		o->format = 3; /* rgb24 */
		o->width = 4;
		o->height = 2;
		o->nplanes = 1;
		o->content = FDX_CONTENT_CHECKSUM;
		o->checksum = 0xbad;
		o->size = 24;
		o->planes[0] = (struct fdx_plane){
			.stride = 12, .size = 24, .width = 4, .height = 2
		};
		memset(&o->planes[1], 0, sizeof(o->planes[1]));
	}
	n = encode(&m, buf, 1, (uint16_t)nfds);
	send_raw(sock, buf, n, fds, (unsigned)nfds);
}

/*
 * A POSIX shm object of size bytes holding frame 0 of the pattern of seed 1, unlinked at
 * once, unsealed (shm cannot be sealed): what `fdx serve --backend shm` sends.
 */
static int shm_buffer(uint64_t size)
{
	char name[64];
	struct fdx_pattern p;
	void *m;
	int fd;

	snprintf(name, sizeof(name), "/raw-peer-%d", (int)getpid());
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || shm_unlink(name) < 0 || ftruncate(fd, (off_t)size) < 0)
		die("shm");
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	fdx_pattern_init(&p, 1, 0);
	fdx_pattern_fill(&p, m, size, 0);
	munmap(m, size);
	return fd;
}

/*
 * shm-shrink: the object is a shm buffer, announced as the ring of a stream; once the
 * consumer has acknowledged it (so it holds it mapped), the file loses its second half,
 * and the first frame is made ready: the consumer reads past the new end.
 * dma-heap-memfd: a sealed memfd announced as a DMA-BUF from a heap.
 */
static void send_backend(int sock, const char *mode)
{
	const uint64_t size = 1u << 20;
	struct fdx_msg m = { .hdr.type = FDX_MSG_OBJECT, .hdr.flags = FDX_HF_LAST };
	struct fdx_object *o = &m.u.object;
	uint8_t buf[FDX_MSG_MAX];
	ssize_t n;
	int fd;

	o->kind = FDX_KIND_RAW;
	o->nplanes = 1;
	o->content = FDX_CONTENT_PATTERN;
	o->seed = 1;
	o->size = size;
	o->planes[0].size = size;
	if (!strcmp(mode, "dma-heap-memfd")) {
		o->backend = FDX_BACKEND_DMA_HEAP;
		fd = memfd(size, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		n = (ssize_t)encode(&m, buf, 1, 1);
		send_raw(sock, buf, (size_t)n, &fd, 1);
		close(fd);
		return;
	}
	o->backend = FDX_BACKEND_SHM;
	m.hdr.flags |= FDX_HF_STREAM;
	fd = shm_buffer(size);
	n = (ssize_t)encode(&m, buf, 1, 1);
	send_raw(sock, buf, (size_t)n, &fd, 1);
	n = recv(sock, buf, sizeof(buf), 0);
	if (n <= 0 || fdx_msg_decode(buf, (size_t)n, 0, &m) < 0 ||
	    m.hdr.type != FDX_MSG_OBJECT_ACK)
		die("recv OBJECT_ACK");
	printf("ACK %s\n", fdx_verdict_name(m.u.ack.verdict));
	if (ftruncate(fd, (off_t)size / 2) < 0)
		die("ftruncate");
	close(fd);
	memset(&m, 0, sizeof(m));
	m.hdr.type = FDX_MSG_READY;
	n = (ssize_t)encode(&m, buf, 2, 0);
	send_raw(sock, buf, (size_t)n, NULL, 0);
}

/* The rest of a well-behaved session: the consumer's ACK and BYE, our BYE. */
static void finish_session(int sock)
{
	struct fdx_msg m;
	uint8_t buf[FDX_MSG_MAX];
	ssize_t n = recv(sock, buf, sizeof(buf), 0);

	if (n <= 0 || fdx_msg_decode(buf, (size_t)n, 0, &m) < 0 ||
	    m.hdr.type != FDX_MSG_OBJECT_ACK)
		die("recv OBJECT_ACK");
	printf("ACK %s first_mismatch=%s mismatched_bytes=%llu\n",
	       fdx_verdict_name(m.u.ack.verdict),
	       m.u.ack.first_mismatch == FDX_NO_OFFSET ? "none" : "set",
	       (unsigned long long)m.u.ack.mismatched_bytes);
	n = recv(sock, buf, sizeof(buf), 0);
	if (n <= 0 || fdx_msg_decode(buf, (size_t)n, 0, &m) < 0 ||
	    m.hdr.type != FDX_MSG_BYE)
		die("recv BYE");
	memset(&m, 0, sizeof(m));
	m.hdr.type = FDX_MSG_BYE;
	n = (ssize_t)encode(&m, buf, 2, 0);
	send_raw(sock, buf, (size_t)n, NULL, 0);
}

/* What did the client say after the fault? */
static void report_answer(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	uint8_t buf[FDX_MSG_MAX];
	struct fdx_msg m;
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, 10000) <= 0) {
			printf("TIMEOUT\n");
			return;
		}
		n = recv(sock, buf, sizeof(buf), 0);
		if (n <= 0) {
			printf("EOF\n");
			return;
		}
		if (fdx_msg_decode(buf, (size_t)n, 0, &m) == 0 &&
		    m.hdr.type == FDX_MSG_ERROR) {
			printf("ERROR %u: %s\n", m.u.error.code, m.u.error.text);
			return;
		}
	}
}

/* The consumer side: connect, answer HELLO, receive an OBJECT, then misbehave. */
static int consumer(const char *path, const char *mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fdx_msg m = { .hdr.type = FDX_MSG_HELLO };
	uint8_t buf[FDX_MSG_MAX];
	char ctl[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int sock;
	size_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	for (int i = 0; i < 500; i++) {
		if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		usleep(10000);
	}
	if (recv(sock, buf, sizeof(buf), 0) <= 0)
		die("recv HELLO");
	if (!strcmp(mode, "silent")) {
		/* connected, greeted, and then never a word: the server must not wait
		 * forever */
		report_answer(sock);
		return 0;
	}
	m.u.hello.role = strcmp(mode, "same-role") ? FDX_ROLE_CONSUMER : FDX_ROLE_PRODUCER;
	m.u.hello.max_fds = 4;
	m.u.hello.max_objects = strcmp(mode, "few-objects") ? 100 : 2;
	snprintf(m.u.hello.name, sizeof(m.u.hello.name), "raw-consumer");
	n = encode(&m, buf, 0, 0);
	send_raw(sock, buf, n, NULL, 0);
	if (!strcmp(mode, "same-role") || !strcmp(mode, "few-objects"))
		goto answer;
	if (!strcmp(mode, "ack-all")) {
		/* a well-behaved consumer without the STREAM capability: ack what comes */
		for (uint32_t seq = 1;; seq++) {
			struct fdx_msg in;
			unsigned nfds = 0;
			ssize_t got;

			msg.msg_control = ctl;
			msg.msg_controllen = sizeof(ctl);
			got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
			if (got <= 0) {
				printf("EOF\n");
				return 0;
			}
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
			     c = CMSG_NXTHDR(&msg, c)) {
				for (size_t k = 0;
				     k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
					int fd;

					memcpy(&fd, CMSG_DATA(c) + k * sizeof(int),
					       sizeof(int));
					close(fd);
					nfds++;
				}
			}
			if (fdx_msg_decode(buf, (size_t)got, nfds, &in) < 0)
				die("decode");
			if (in.hdr.type == FDX_MSG_ERROR) {
				printf("ERROR %u: %s\n", in.u.error.code, in.u.error.text);
				return 0;
			}
			memset(&m, 0, sizeof(m));
			m.hdr.type = FDX_MSG_OBJECT_ACK;
			m.u.ack.index = in.u.object.index;
			m.u.ack.verdict = FDX_VERDICT_UNCHECKED;
			m.u.ack.first_mismatch = FDX_NO_OFFSET;
			n = encode(&m, buf, seq, 0);
			send_raw(sock, buf, n, NULL, 0);
		}
	}

	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		die("recv OBJECT");
	if (!strcmp(mode, "close")) {
		printf("CLOSED\n");
		return 0;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.type = FDX_MSG_OBJECT_ACK;
	m.u.ack.verdict = FDX_VERDICT_OK;
	m.u.ack.first_mismatch = FDX_NO_OFFSET;
	if (!strcmp(mode, "wrong-index"))
		m.u.ack.index = 3;
	n = encode(&m, buf, 1, 0);
	if (!strcmp(mode, "fd-on-ack")) {
		int fd = memfd(4096, 0);

		buf[10] = 1;
		send_raw(sock, buf, n, &fd, 1);
	} else if (!strcmp(mode, "lying-verdict")) {
		/* wrong bytes counted but no offset for them: contradicts itself (with
		 * neither it would be a checksum that differs, which is allowed) */
		buf[FDX_HDR_SIZE + 4] = FDX_VERDICT_MISMATCH;
		buf[FDX_HDR_SIZE + 16] = 5;
		send_raw(sock, buf, n, NULL, 0);
	} else if (!strcmp(mode, "wrong-index")) {
		send_raw(sock, buf, n, NULL, 0);
	} else {
		fprintf(stderr, "raw-peer: unknown consumer mode '%s'\n", mode);
		return 2;
	}
answer:
	report_answer(sock);
	return 0;
}

int main(int argc, char **argv)
{
	struct fdx_msg hello = { .hdr.type = FDX_MSG_HELLO };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t buf[FDX_MSG_MAX];
	const char *mode;
	int lfd, sock, fds[8];
	size_t n;

	if (argc == 4 && !strcmp(argv[1], "--consumer"))
		return consumer(argv[2], argv[3]);
	if (argc != 3) {
		fprintf(stderr, "usage: raw-peer [--consumer] SOCKET MODE\n");
		return 2;
	}
	mode = argv[2];
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0)
		die("listen");
	/* another program's socket: it listens, and that is all it does until killed */
	if (!strcmp(mode, "listen"))
		for (;;)
			pause();
	sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0)
		die("accept");
	if (!strcmp(mode, "silent")) {
		/* a server that accepts and never says HELLO: the client must give up */
		report_answer(sock);
		unlink(argv[1]);
		return 0;
	}

	hello.u.hello.role =
		strcmp(mode, "same-role") ? FDX_ROLE_PRODUCER : FDX_ROLE_CONSUMER;
	hello.u.hello.caps = FDX_CAP_PATTERN | FDX_CAP_STREAM;
	hello.u.hello.pid = (uint32_t)getpid();
	hello.u.hello.max_fds = 4;
	hello.u.hello.max_objects = 1;
	snprintf(hello.u.hello.name, sizeof(hello.u.hello.name), "raw-peer");
	n = encode(&hello, buf, 0, 0);
	if (!strcmp(mode, "bad-magic"))
		buf[0] ^= 0xff;
	if (!strcmp(mode, "bad-version"))
		buf[4] = FDX_PROTO_MAJOR + 1;
	if (!strcmp(mode, "lying-length"))
		buf[12] = 200; /* payload length field, little-endian low byte */
	if (!strcmp(mode, "fd-on-hello")) {
		fds[0] = memfd(4096, F_SEAL_SHRINK);
		buf[10] = 1; /* header nfds */
		send_raw(sock, buf, n, fds, 1);
	} else if (!strcmp(mode, "short-header")) {
		send_raw(sock, buf, 10, NULL, 0);
	} else {
		send_raw(sock, buf, n, NULL, 0);
	}
	if (strncmp(mode, "bad-", 4) == 0 || !strcmp(mode, "fd-on-hello") ||
	    !strcmp(mode, "short-header") || !strcmp(mode, "lying-length") ||
	    !strcmp(mode, "same-role"))
		goto answer;

	/* read the client's HELLO; its content does not matter here */
	if (recv(sock, buf, sizeof(buf), 0) <= 0)
		die("recv HELLO");

	if (!strcmp(mode, "pipe")) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		send_object(sock, 1, 4096, &p[0], 1, 1);
	} else if (!strcmp(mode, "devzero")) {
		fds[0] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		send_object(sock, 1, 4096, fds, 1, 1);
	} else if (!strcmp(mode, "unsealed")) {
		fds[0] = memfd(4096, 0);
		send_object(sock, 1, 4096, fds, 1, 1);
	} else if (!strcmp(mode, "short")) {
		fds[0] = memfd(4096, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		send_object(sock, 1, 8294400, fds, 1, 1);
	} else if (!strcmp(mode, "image-checksum")) {
		send_image(sock, mode);
		finish_session(sock);
		unlink(argv[1]);
		return 0;
	} else if (!strncmp(mode, "image-", 6)) {
		send_image(sock, mode);
	} else if (!strcmp(mode, "shm-shrink") || !strcmp(mode, "dma-heap-memfd")) {
		send_backend(sock, mode);
	} else if (!strcmp(mode, "no-fd")) {
		send_object(sock, 1, 4096, NULL, 0, 1);
	} else if (!strcmp(mode, "extra-fds")) {
		for (int i = 0; i < 6; i++)
			fds[i] = memfd(4096, F_SEAL_SHRINK);
		send_object(sock, 1, 4096, fds, 6, 1);
	} else if (!strcmp(mode, "wrong-seq")) {
		fds[0] = memfd(4096, F_SEAL_SHRINK);
		send_object(sock, 7, 4096, fds, 1, 1);
	} else if (!strcmp(mode, "unknown-type")) {
		struct fdx_msg m = { .hdr.type = FDX_MSG_BYE };

		n = encode(&m, buf, 1, 0);
		buf[6] = 42; /* type, low byte */
		send_raw(sock, buf, n, NULL, 0);
	} else if (!strcmp(mode, "early-bye")) {
		struct fdx_msg m = { .hdr.type = FDX_MSG_BYE };

		n = encode(&m, buf, 1, 0);
		send_raw(sock, buf, n, NULL, 0);
	} else if (!strcmp(mode, "error")) {
		struct fdx_msg m = { .hdr.type = FDX_MSG_ERROR };

		m.u.error.code = 4;
		snprintf(m.u.error.text, sizeof(m.u.error.text),
			 "producer ran out of memory");
		n = encode(&m, buf, 1, 0);
		send_raw(sock, buf, n, NULL, 0);
	} else if (!strcmp(mode, "close")) {
		close(sock);
		printf("CLOSED\n");
		unlink(argv[1]);
		return 0;
	} else {
		fprintf(stderr, "raw-peer: unknown mode '%s'\n", mode);
		return 2;
	}
answer:
	report_answer(sock);
	unlink(argv[1]);
	return 0;
}
