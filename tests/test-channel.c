/* test-channel.c - unit tests of the socket layer: fd passing, truncation, endpoints */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "codec.h"
#include "test-common.h"

static void seqpacket_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* Four fds of different kinds, so that a mixed-up order would show. */
static void open_four(int fds[4], int extra[2])
{
	int p[2];

	fds[0] = tc_memfd("fdx-chan", 100);
	fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fds[1], 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fds[2] = p[0];
	extra[0] = p[1];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
	fds[3] = p[0];
	extra[1] = p[1];
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/* The next record on sock must be exactly text with no fds: nothing shifted onto it. */
static void expect_clean_record(int tx, int rx, const char *text)
{
	char buf[64];
	int fds[8];
	unsigned nfds = 99;
	ssize_t n;

	ck_assert_int_ge(fdx_channel_send(tx, text, strlen(text), NULL, 0), 0);
	n = fdx_channel_recv(rx, buf, sizeof(buf), fds, 8, &nfds);
	ck_assert_int_eq(n, (ssize_t)strlen(text));
	ck_assert_mem_eq(buf, text, strlen(text));
	ck_assert_uint_eq(nfds, 0);
}

START_TEST(send_recv_fds)
{
	static const unsigned counts[] = { 0, 1, 4, 2 };
	int sv[2], fds[4], extra[2];

	seqpacket_pair(sv);
	open_four(fds, extra);
	for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		unsigned n = counts[c];
		char msg[32], buf[64];
		int rfds[8];
		unsigned nfds = 99;
		ssize_t len;

		snprintf(msg, sizeof(msg), "record with %u fds", n);
		ck_assert_int_ge(fdx_channel_send(sv[0], msg, strlen(msg), fds, n), 0);
		for (unsigned i = 0; i < 8; i++)
			rfds[i] = -1;
		len = fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds);
		ck_assert_int_eq(len, (ssize_t)strlen(msg));
		ck_assert_mem_eq(buf, msg, strlen(msg));
		ck_assert_uint_eq(nfds, n);
		for (unsigned i = 0; i < n; i++) {
			ck_assert_int_ge(rfds[i], 0);
			ck_assert_int_ne(rfds[i], fds[i]);
			ck_assert_msg(tc_is_cloexec(rfds[i]),
				      "received fd %u is not CLOEXEC", i);
			ck_assert_msg(tc_same_file(rfds[i], fds[i]),
				      "received fd %u is another file", i);
		}
		fdx_close_fds(rfds, nfds);
		for (unsigned i = 0; i < nfds; i++)
			ck_assert_int_eq(rfds[i], -1);
	}
	close_all(fds, 4);
	close_all(extra, 2);
	close_all(sv, 2);
}
END_TEST

START_TEST(close_fds_helper)
{
	int fds[3] = { -1, -1, -1 };

	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[2] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fds[0], 0);
	ck_assert_int_ge(fds[2], 0);
	fdx_close_fds(fds, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(fds[i], -1);
}
END_TEST

/* The peer attaches sent fds, the receiver takes at most max: refused, nothing kept. */
static void ctrunc_case(unsigned sent, unsigned max)
{
	int sv[2], fds[4], extra[2], rfds[8];
	unsigned nfds = 99;
	char buf[64];
	int before;
	ssize_t n;

	seqpacket_pair(sv);
	open_four(fds, extra);
	ck_assert_int_eq(tc_send_raw(sv[0], "too many", 8, fds, sent), 8);
	before = tc_count_fds();
	n = fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, max, &nfds);
	ck_assert_msg(n == -ENOBUFS, "%u fds sent, %u allowed: recv returned %zd (%s)",
		      sent, max, n, strerror((int)-n));
	ck_assert_uint_eq(nfds, 0);
	ck_assert_msg(tc_count_fds() == before, "%u fds sent, %u allowed: %d fds left open",
		      sent, max, tc_count_fds() - before);
	expect_clean_record(sv[0], sv[1], "next");
	close_all(fds, 4);
	close_all(extra, 2);
	close_all(sv, 2);
}

START_TEST(ctrunc_refused)
{
	ctrunc_case(4, 1);
	/* CMSG_SPACE(1 int) has room for 2: padding must not let an extra one in */
	ctrunc_case(2, 1);
	ctrunc_case(4, 3);
	ctrunc_case(1, 0);
	ctrunc_case(4, 0);
}
END_TEST

START_TEST(record_too_long)
{
	int sv[2], fds[4], extra[2], rfds[8];
	char big[200], buf[16];
	unsigned nfds = 99;
	int before;
	ssize_t n;

	seqpacket_pair(sv);
	open_four(fds, extra);
	memset(big, 'b', sizeof(big));
	ck_assert_int_eq(tc_send_raw(sv[0], big, sizeof(big), fds, 3),
			 (ssize_t)sizeof(big));
	before = tc_count_fds();
	n = fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds);
	ck_assert_int_eq(n, -EMSGSIZE);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(tc_count_fds(), before);
	/* the rest of the long record is gone, not read as the next one */
	expect_clean_record(sv[0], sv[1], "after");
	close_all(fds, 4);
	close_all(extra, 2);
	close_all(sv, 2);
}
END_TEST

/* Receive one record on rx; it must fail with one of want1/want2 and keep no fd. */
static void expect_refused(int rx, unsigned max, int want1, int want2, const char *what)
{
	int rfds[FDX_SCM_MAX_FD];
	unsigned nfds = 99;
	char buf[64];
	int before = tc_count_fds();
	ssize_t n = fdx_channel_recv(rx, buf, sizeof(buf), rfds, max, &nfds);

	ck_assert_msg(n == want1 || n == want2, "%s: recv returned %zd (%s)", what, n,
		      strerror((int)-n));
	ck_assert_uint_eq(nfds, 0);
	ck_assert_msg(tc_count_fds() == before, "%s: %d fds left open", what,
		      tc_count_fds() - before);
}

START_TEST(foreign_control_message)
{
	int sv[2], fds[4], extra[2];
	int one = 1;

	seqpacket_pair(sv);
	open_four(fds, extra);
	/* with SO_PASSCRED every record also brings SCM_CREDENTIALS */
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	ck_assert_int_eq(tc_send_raw(sv[0], "creds", 5, NULL, 0), 5);
	expect_refused(sv[1], 8, -EPROTO, -EPROTO, "credentials only");
	ck_assert_int_eq(tc_send_raw(sv[0], "creds", 5, fds, 2), 5);
	expect_refused(sv[1], FDX_SCM_MAX_FD, -EPROTO, -EPROTO, "credentials and 2 fds");
	/* the credentials take the fds' room: truncation is an answer too */
	ck_assert_int_eq(tc_send_raw(sv[0], "creds", 5, fds, 2), 5);
	expect_refused(sv[1], 8, -EPROTO, -ENOBUFS, "credentials and 2 fds, max 8");
	close_all(fds, 4);
	close_all(extra, 2);
	close_all(sv, 2);
}
END_TEST

START_TEST(peer_closed)
{
	int sv[2], rfds[8];
	unsigned nfds = 99;
	char buf[64];

	seqpacket_pair(sv);
	/* what was queued before the close still arrives, then the end */
	ck_assert_int_ge(fdx_channel_send(sv[0], "last words", 10, NULL, 0), 0);
	close(sv[0]);
	ck_assert_int_eq(fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds), 10);
	ck_assert_int_eq(fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds), 0);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds), 0);
	close(sv[1]);
}
END_TEST

/*
 * A SEQPACKET record may be empty, and an empty record may carry fds. recvmsg then
 * returns 0 as at the end of the stream: channel.h makes that -ENODATA, the fds closed.
 */
START_TEST(empty_record_with_fds)
{
	int sv[2], fds[4], extra[2], rfds[8];
	unsigned nfds = 99;
	char buf[64];
	int before, leaked;
	ssize_t n;

	seqpacket_pair(sv);
	open_four(fds, extra);
	ck_assert_int_eq(tc_send_raw(sv[0], "", 0, fds, 2), 0);
	before = tc_count_fds();
	n = fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds);
	leaked = tc_count_fds() - before;
	/* close what came, so that the fixture does not report the same leak again */
	if (n == 0)
		fdx_close_fds(rfds, nfds);
	ck_assert_msg(leaked == 0, "empty record, 2 fds: recv %zd, %u fds, %d open", n,
		      nfds, leaked);
	ck_assert_int_eq(n, -ENODATA);
	ck_assert_uint_eq(nfds, 0);
	/* without fds it is what the end of the stream looks like */
	ck_assert_int_eq(tc_send_raw(sv[0], "", 0, NULL, 0), 0);
	ck_assert_int_eq(fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds), 0);
	ck_assert_uint_eq(nfds, 0);
	close_all(fds, 4);
	close_all(extra, 2);
	close_all(sv, 2);
}
END_TEST

START_TEST(scm_max_fd_limit)
{
	int sv[2], fd, *many, *rfds;
	unsigned nfds = 0;
	char buf[16];
	ssize_t n;

	seqpacket_pair(sv);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	many = malloc((FDX_SCM_MAX_FD + 1) * sizeof(int));
	rfds = malloc((FDX_SCM_MAX_FD + 1) * sizeof(int));
	ck_assert_ptr_nonnull(many);
	ck_assert_ptr_nonnull(rfds);
	for (unsigned i = 0; i <= FDX_SCM_MAX_FD; i++)
		many[i] = fd;

	/* one over the kernel's limit: refused before anything is sent */
	ck_assert_int_eq(fdx_channel_send(sv[0], "x", 1, many, FDX_SCM_MAX_FD + 1),
			 -EINVAL);
	ck_assert_int_eq(tc_recv_raw(sv[1], buf, sizeof(buf), &nfds, MSG_DONTWAIT),
			 -EAGAIN);
	ck_assert_int_eq(fdx_channel_send(sv[0], "x", 1, many, UINT_MAX), -EINVAL);

	/* at the limit: all of them arrive */
	ck_assert_int_ge(fdx_channel_send(sv[0], "y", 1, many, FDX_SCM_MAX_FD), 0);
	n = fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, FDX_SCM_MAX_FD, &nfds);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(nfds, FDX_SCM_MAX_FD);
	for (unsigned i = 0; i < nfds; i++)
		ck_assert(tc_same_file(rfds[i], fd));
	fdx_close_fds(rfds, nfds);

	/* the limit minus one, received with one slot too few */
	ck_assert_int_ge(fdx_channel_send(sv[0], "z", 1, many, FDX_SCM_MAX_FD - 1), 0);
	n = fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, FDX_SCM_MAX_FD - 2, &nfds);
	ck_assert_int_eq(n, -ENOBUFS);
	free(many);
	free(rfds);
	close(fd);
	close_all(sv, 2);
}
END_TEST

START_TEST(send_to_closed_peer)
{
	int sv[2], fd;

	/* the default action: if MSG_NOSIGNAL were missing this test would die of it */
	signal(SIGPIPE, SIG_DFL);
	seqpacket_pair(sv);
	close(sv[1]);
	ck_assert_int_eq(fdx_channel_send(sv[0], "anyone?", 7, NULL, 0), -EPIPE);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(fdx_channel_send(sv[0], "anyone?", 7, &fd, 1), -EPIPE);
	close(sv[0]);

	/*
	 * A SEQPACKET peer's death raises no SIGPIPE on Linux, a stream peer's does: this
	 * is where a missing MSG_NOSIGNAL would kill the test.
	 */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(fdx_channel_send(sv[0], "anyone?", 7, NULL, 0), -EPIPE);
	ck_assert_int_eq(fdx_channel_send(sv[0], "anyone?", 7, &fd, 1), -EPIPE);
	close(fd);
	close(sv[0]);
}
END_TEST

/* ---- endpoints ---- */

static char *sock_path(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static int sock_type(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	return type;
}

/* A server: its listening socket and the lock that proves it owns the path. */
struct server {
	int fd;
	int lock;
};

static int serve(const char *path, struct server *sv)
{
	sv->fd = -1;
	sv->lock = -1;
	return fdx_channel_listen(path, &sv->fd, &sv->lock);
}

static void stop(struct server *sv)
{
	close(sv->fd);
	close(sv->lock);
}

/* A connection to path reaches sv. */
static void reachable(const char *path, const struct server *sv)
{
	int cfd = -1, afd = -1;

	ck_assert_int_eq(fdx_channel_connect(path, &cfd), 0);
	ck_assert_int_eq(fdx_channel_accept(sv->fd, &afd), 0);
	close(afd);
	close(cfd);
}

/* A listening socket at path made without fdx, as another program would. */
static int foreign_listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

START_TEST(listen_connect_accept)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "fdx.sock");
	struct server srv;
	int cfd = -1, afd = -1, rfds[4];
	unsigned nfds;
	char buf[16];
	struct stat st;
	pid_t pid = 0;

	ck_assert_int_eq(serve(path, &srv), 0);
	ck_assert_int_ge(srv.fd, 0);
	ck_assert_int_ge(srv.lock, 0);
	ck_assert_int_ne(srv.fd, srv.lock);
	ck_assert_msg(tc_is_cloexec(srv.lock), "the lock fd is not CLOEXEC");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(fdx_channel_connect(path, &cfd), 0);
	ck_assert_int_eq(fdx_channel_accept(srv.fd, &afd), 0);
	for (unsigned i = 0; i < 3; i++) {
		int fd = i == 0 ? srv.fd : i == 1 ? cfd : afd;

		ck_assert_msg(tc_is_cloexec(fd), "endpoint fd %u is not CLOEXEC", i);
		ck_assert_int_eq(sock_type(fd), SOCK_SEQPACKET);
	}
	ck_assert_int_ge(fdx_channel_send(cfd, "ping", 4, &cfd, 1), 0);
	ck_assert_int_eq(fdx_channel_recv(afd, buf, sizeof(buf), rfds, 4, &nfds), 4);
	ck_assert_uint_eq(nfds, 1);
	ck_assert(tc_same_file(rfds[0], cfd));
	fdx_close_fds(rfds, nfds);
	ck_assert_int_ge(fdx_channel_send(afd, "pong", 4, NULL, 0), 0);
	ck_assert_int_eq(fdx_channel_recv(cfd, buf, sizeof(buf), rfds, 4, &nfds), 4);
	ck_assert_mem_eq(buf, "pong", 4);
	ck_assert_int_eq(fdx_channel_peer_pid(afd, &pid), 0);
	ck_assert_int_eq(pid, getpid());
	ck_assert_int_eq(fdx_channel_peer_pid(cfd, &pid), 0);
	ck_assert_int_eq(pid, getpid());
	close(afd);
	close(cfd);
	stop(&srv);
	tc_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(path_too_long)
{
	char *dir = tc_tmpdir();
	size_t dlen = strlen(dir);
	struct server srv;
	char path[300], lock[320];
	int fd = -1;

	/* 107 bytes and the NUL fill sun_path exactly: that still works */
	ck_assert_uint_lt(dlen + 2, 107);
	memcpy(path, dir, dlen);
	path[dlen] = '/';
	memset(path + dlen + 1, 'p', 107 - dlen - 1);
	path[107] = '\0';
	ck_assert_uint_eq(strlen(path), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	ck_assert_int_eq(serve(path, &srv), 0);
	reachable(path, &srv);
	stop(&srv);
	ck_assert_int_eq(unlink(path), 0);

	/* one more byte: refused, and nothing made at the cut-off name or beside it */
	path[107] = 'p';
	path[108] = '\0';
	ck_assert_int_eq(serve(path, &srv), -ENAMETOOLONG);
	ck_assert_int_eq(srv.fd, -1);
	ck_assert_int_eq(srv.lock, -1);
	ck_assert_int_eq(fdx_channel_connect(path, &fd), -ENAMETOOLONG);
	ck_assert_int_eq(fd, -1);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	ck_assert_int_eq(access(lock, F_OK), -1);
	path[107] = '\0';
	ck_assert_int_eq(access(path, F_OK), -1);

	memset(path + dlen + 1, 'q', 250);
	path[dlen + 1 + 250] = '\0';
	ck_assert_int_eq(serve(path, &srv), -ENAMETOOLONG);
	ck_assert_int_eq(fdx_channel_connect(path, &fd), -ENAMETOOLONG);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(listen_twice)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "fdx.sock");
	struct server srv, srv2;
	struct stat st1, st2;

	ck_assert_int_eq(serve(path, &srv), 0);
	ck_assert_int_eq(lstat(path, &st1), 0);
	ck_assert_int_eq(serve(path, &srv2), -EADDRINUSE);
	ck_assert_int_eq(srv2.fd, -1);
	ck_assert_int_eq(srv2.lock, -1);
	/* the first listener keeps its socket file and its clients */
	ck_assert_int_eq(lstat(path, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	reachable(path, &srv);

	/* once it is gone, the next server takes over the file it left */
	stop(&srv);
	ck_assert_int_eq(serve(path, &srv2), 0);
	reachable(path, &srv2);
	stop(&srv2);
	tc_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

/* The same live socket named another way is still in use, not stale. */
START_TEST(listen_twice_other_spelling)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "fdx.sock");
	char *alias[2] = { sock_path(dir, "./fdx.sock"), sock_path(dir, "/fdx.sock") };
	struct server srv, srv2;
	struct stat st1, st2;

	ck_assert_int_eq(serve(path, &srv), 0);
	ck_assert_int_eq(lstat(path, &st1), 0);
	for (unsigned i = 0; i < 2; i++) {
		int r = serve(alias[i], &srv2);

		if (r == 0)
			stop(&srv2);
		ck_assert_msg(r == -EADDRINUSE, "listen on '%s' while '%s' is live: %d",
			      alias[i], path, r);
		ck_assert_int_eq(lstat(path, &st2), 0);
		ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	}
	reachable(path, &srv);
	stop(&srv);
	tc_rmtree(dir);
	free(alias[0]);
	free(alias[1]);
	free(path);
	free(dir);
}
END_TEST

/* A program other than fdx listening on the path is not replaced either. */
START_TEST(foreign_listener_kept)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "fdx.sock");
	int ffd = foreign_listener(path), cfd = -1, afd;
	struct server srv;

	ck_assert_int_eq(serve(path, &srv), -EADDRINUSE);
	ck_assert_int_eq(srv.fd, -1);
	ck_assert_int_eq(fdx_channel_connect(path, &cfd), 0);
	afd = accept4(ffd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(afd, 0);
	close(afd);
	close(cfd);
	close(ffd);
	tc_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(stale_socket_replaced)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "fdx.sock");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct server srv;
	int fd, cfd = -1;

	/* what a crashed server leaves: a socket file nobody listens on */
	close(foreign_listener(path));
	ck_assert_int_eq(fdx_channel_connect(path, &cfd), -ECONNREFUSED);
	ck_assert_int_eq(serve(path, &srv), 0);
	reachable(path, &srv);
	stop(&srv);

	/* bound but never listened on */
	ck_assert_int_eq(unlink(path), 0);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(serve(path, &srv), 0);
	reachable(path, &srv);
	stop(&srv);
	tc_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(regular_file_not_replaced)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "fdx.sock");
	struct server srv;
	char back[8] = "";
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep me", 7), 7);
	close(fd);
	ck_assert_int_lt(serve(path, &srv), 0);
	ck_assert_int_eq(srv.fd, -1);
	ck_assert_int_eq(srv.lock, -1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, back, 7), 7);
	ck_assert_mem_eq(back, "keep me", 7);
	close(fd);
	tc_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(connect_missing)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "nobody-here.sock");
	int fd = -1;

	ck_assert_int_eq(fdx_channel_connect(path, &fd), -ENOENT);
	ck_assert_int_eq(fd, -1);
	tc_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

/* ---- the default socket path ---- */

START_TEST(default_path_xdg)
{
	char buf[256], want[256];
	char *dir = tc_tmpdir();

	ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", dir, 1), 0);
	ck_assert_int_eq(fdx_default_socket_path(buf, sizeof(buf), true), 0);
	snprintf(want, sizeof(want), "%s/fdx.sock", dir);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(fdx_default_socket_path(buf, 10, false), -ENAMETOOLONG);

	/* a relative value is not a runtime directory: fall back to /tmp */
	ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", "relative/run", 1), 0);
	snprintf(want, sizeof(want), "/tmp/fdx-%u/fdx.sock", (unsigned)geteuid());
	if (fdx_default_socket_path(buf, sizeof(buf), false) == 0)
		ck_assert_str_eq(buf, want);
	ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", "", 1), 0);
	if (fdx_default_socket_path(buf, sizeof(buf), false) == 0)
		ck_assert_str_eq(buf, want);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

/* Checks of the /tmp fallback; /tmp is a private tmpfs here, so anything goes. */
static int default_path_checks(void)
{
	char buf[256], want[256], dir[64];
	struct stat st;
	int r;

	unsetenv("XDG_RUNTIME_DIR");
	snprintf(dir, sizeof(dir), "/tmp/fdx-%u", (unsigned)geteuid());
	snprintf(want, sizeof(want), "%s/fdx.sock", dir);

	r = fdx_default_socket_path(buf, sizeof(buf), false);
	tc_child_assert(r == 0, "without create: %d", r);
	tc_child_assert(strcmp(buf, want) == 0, "path '%s', expected '%s'", buf, want);
	tc_child_assert(lstat(dir, &st) < 0 && errno == ENOENT, "%s made without create",
			dir);

	umask(0);
	r = fdx_default_socket_path(buf, sizeof(buf), true);
	tc_child_assert(r == 0, "with create: %d", r);
	tc_child_assert(strcmp(buf, want) == 0, "path '%s', expected '%s'", buf, want);
	tc_child_assert(lstat(dir, &st) == 0, "%s not made", dir);
	tc_child_assert(S_ISDIR(st.st_mode), "%s is not a directory", dir);
	tc_child_assert((st.st_mode & 07777) == 0700, "%s has mode %o", dir,
			st.st_mode & 07777);
	tc_child_assert(st.st_uid == geteuid(), "%s owned by %u", dir, (unsigned)st.st_uid);
	r = fdx_default_socket_path(buf, sizeof(buf), true);
	tc_child_assert(r == 0, "with create, directory present: %d", r);
	r = fdx_default_socket_path(buf, 8, false);
	tc_child_assert(r == -ENAMETOOLONG, "cap 8: %d", r);

	/* others could enter: refused */
	tc_child_assert(chmod(dir, 0755) == 0, "chmod");
	r = fdx_default_socket_path(buf, sizeof(buf), true);
	tc_child_assert(r == -EPERM, "directory 0755: %d, expected -EPERM", r);
	tc_child_assert(chmod(dir, 0700) == 0, "chmod");

	/* someone else's directory: refused (where this process may give one away) */
	if (chown(dir, 65534, 65534) == 0) {
		r = fdx_default_socket_path(buf, sizeof(buf), true);
		tc_child_assert(r == -EPERM, "directory of uid 65534: %d", r);
	}

	/* a file, or a symlink planted in its place: refused */
	tc_child_assert(rmdir(dir) == 0, "rmdir");
	tc_child_assert(close(open(dir, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == 0,
			"creat");
	r = fdx_default_socket_path(buf, sizeof(buf), true);
	tc_child_assert(r == -EPERM, "a file at %s: %d, expected -EPERM", dir, r);
	tc_child_assert(unlink(dir) == 0, "unlink");
	tc_child_assert(mkdir("/tmp/elsewhere", 0700) == 0, "mkdir");
	tc_child_assert(symlink("/tmp/elsewhere", dir) == 0, "symlink");
	r = fdx_default_socket_path(buf, sizeof(buf), true);
	tc_child_assert(r == -EPERM, "a symlink at %s: %d, expected -EPERM", dir, r);

	return 0;
}

static int default_path_in_namespace(void *arg)
{
	/* a private /tmp, so the real one (and other users of it) are never touched */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") < 0)
		return 77;
	return default_path_checks();
}

START_TEST(default_path_tmp)
{
	pid_t pid = tc_fork(default_path_in_namespace, NULL);
	int status = tc_wait_status(pid);
	char buf[256], want[256], dir[64];
	struct stat st;
	bool existed;

	ck_assert_msg(WIFEXITED(status), "child killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) != 77) {
		ck_assert_msg(WEXITSTATUS(status) == 0,
			      "default path checks failed (see stderr)");
		return;
	}
	/* no mount namespace here: check what can be checked on the real /tmp */
	unsetenv("XDG_RUNTIME_DIR");
	snprintf(dir, sizeof(dir), "/tmp/fdx-%u", (unsigned)geteuid());
	snprintf(want, sizeof(want), "%s/fdx.sock", dir);
	existed = lstat(dir, &st) == 0;
	if (existed &&
	    (!S_ISDIR(st.st_mode) || (st.st_mode & 077) || st.st_uid != geteuid())) {
		ck_assert_int_eq(fdx_default_socket_path(buf, sizeof(buf), true), -EPERM);
		return;
	}
	ck_assert_int_eq(fdx_default_socket_path(buf, sizeof(buf), true), 0);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	if (!existed)
		rmdir(dir);
}
END_TEST

/* ---- out of fds ---- */

static int emfile_child(void *arg)
{
	int sv[2], fds[4], rfds[8];
	struct rlimit rl;
	unsigned nfds = 99;
	int free_slots = 0, limit = -1, before;
	char buf[16];
	ssize_t n;

	tc_child_assert(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0,
			"pair");
	for (unsigned i = 0; i < 4; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		tc_child_assert(fds[i] >= 0, "open");
	}
	tc_child_assert(tc_send_raw(sv[0], "four", 4, fds, 4) == 4, "raw send");
	/* in flight the kernel holds them; our copies are not needed */
	for (unsigned i = 0; i < 4; i++)
		close(fds[i]);

	/* leave exactly two free slots below the limit */
	for (int fd = 0; fd < 4096; fd++) {
		if (!tc_fd_is_open(fd) && ++free_slots == 2) {
			limit = fd + 1;
			break;
		}
	}
	tc_child_assert(limit > 0, "no free fd slots found");
	tc_child_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	rl.rlim_cur = (rlim_t)limit;
	tc_child_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s",
			strerror(errno));

	before = tc_count_fds();
	n = fdx_channel_recv(sv[1], buf, sizeof(buf), rfds, 8, &nfds);
	/*
	 * MSG_CTRUNC alone cannot tell this from a peer sending too many, but channel.h
	 * promises -EMFILE here (FAULTS A.7 wants a distinct message), so hold it to
	 * that.
	 */
	tc_child_assert(n == -EMFILE || n == -ENOBUFS,
			"recv at the fd limit returned %zd (%s)", n, strerror((int)-n));
	tc_child_assert(n == -EMFILE, "out of fds reported as ENOBUFS, not EMFILE");
	tc_child_assert(nfds == 0, "nfds %u after a failure", nfds);
	tc_child_assert(tc_count_fds() == before, "%d fds left open",
			tc_count_fds() - before);
	return 0;
}

START_TEST(recv_out_of_fds)
{
	tc_wait_child(tc_fork(emfile_child, NULL), 0);
}
END_TEST

/* ---- SOCK_STREAM framing ---- */

static void stream_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* A real fdx message of type (a BYE, 24 + 32 bytes) claiming nfds fds, into buf. */
static size_t bye_msg(uint8_t *buf, uint32_t seq, uint16_t nfds)
{
	struct fdx_msg m = { .hdr.type = FDX_MSG_BYE, .hdr.seq = seq, .hdr.nfds = nfds };
	int n = fdx_msg_encode(&m, buf, FDX_MSG_MAX);

	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

static ssize_t srecv(int fd, struct fdx_stream_rx *rx, uint8_t *buf, int *fds,
		     unsigned *nfds)
{
	return fdx_stream_recv(fd, rx, buf, FDX_MSG_MAX, fds, 4, nfds);
}

/* Messages and their fds come apart again, in order, however the bytes were read. */
START_TEST(stream_round_trip)
{
	struct fdx_stream_rx rx;
	uint8_t out[FDX_MSG_MAX], in[FDX_MSG_MAX];
	int sv[2], four[4], extra[2], got[4];
	unsigned nfds;
	size_t n;

	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	open_four(four, extra);
	/* three messages queued before any is read: one read takes them all */
	n = bye_msg(out, 0, 0);
	ck_assert_int_eq(fdx_stream_send(sv[0], out, n, NULL, 0), 0);
	n = bye_msg(out, 1, 4);
	ck_assert_int_eq(fdx_stream_send(sv[0], out, n, four, 4), 0);
	n = bye_msg(out, 2, 1);
	ck_assert_int_eq(fdx_stream_send(sv[0], out, n, &four[0], 1), 0);

	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), (ssize_t)n);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), (ssize_t)n);
	ck_assert_uint_eq(nfds, 4);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert(tc_same_file(got[i], four[i]));
		ck_assert(tc_is_cloexec(got[i]));
	}
	close_all(got, 4);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), (ssize_t)n);
	ck_assert_uint_eq(nfds, 1);
	ck_assert(tc_same_file(got[0], four[0]));
	close(got[0]);
	ck_assert_uint_eq(in[16], 2); /* seq of the third */
	/* the end of the stream between messages */
	close(sv[0]);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), 0);
	close(sv[1]);
	close_all(four, 4);
	close_all(extra, 2);
	fdx_stream_rx_release(&rx);
}
END_TEST

/* A message dribbled a byte at a time, its fds on the first byte, arrives whole. */
START_TEST(stream_byte_by_byte)
{
	struct fdx_stream_rx rx;
	uint8_t out[FDX_MSG_MAX], in[FDX_MSG_MAX];
	int sv[2], fd = tc_memfd("fdx-dribble", 16), got[4];
	unsigned nfds;
	size_t n = bye_msg(out, 0, 1);

	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	ck_assert_int_eq(tc_send_raw(sv[0], out, 1, &fd, 1), 1);
	for (size_t i = 1; i < n; i++)
		ck_assert_int_eq(tc_send_raw(sv[0], out + i, 1, NULL, 0), 1);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), (ssize_t)n);
	ck_assert_uint_eq(nfds, 1);
	ck_assert(tc_same_file(got[0], fd));
	ck_assert_mem_eq(in, out, n);
	close(got[0]);
	close(fd);
	close(sv[0]);
	close(sv[1]);
	fdx_stream_rx_release(&rx);
}
END_TEST

/*
 * An fd sent on a message that claims none is that message's: the decoder sees the
 * count differ. An fd sent with the middle of a message belongs to no message start:
 * when the next message comes, it is refused, and closed.
 */
START_TEST(stream_stray_fds)
{
	struct fdx_stream_rx rx;
	uint8_t out[FDX_MSG_MAX], in[FDX_MSG_MAX];
	int sv[2], fd = tc_memfd("fdx-stray", 16), got[4];
	unsigned nfds;
	size_t n = bye_msg(out, 0, 0);

	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	ck_assert_int_eq(tc_send_raw(sv[0], out, n, &fd, 1), (ssize_t)n);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), (ssize_t)n);
	ck_assert_uint_eq(nfds, 1); /* header says 0: fdx_msg_decode refuses it */
	close(got[0]);

	/*
	 * An fd on a byte inside message B: A and B's first 10 bytes are read together,
	 * then the rest of B with the fd (a read ends after the part that carried fds),
	 * so the fd came with no message's first byte. B takes none; C finds it stray.
	 */
	ck_assert_int_eq(tc_send_raw(sv[0], out, n, NULL, 0), (ssize_t)n);
	ck_assert_int_eq(tc_send_raw(sv[0], out, 10, NULL, 0), 10);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), (ssize_t)n);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(tc_send_raw(sv[0], out + 10, n - 10, &fd, 1), (ssize_t)(n - 10));
	ck_assert_int_eq(tc_send_raw(sv[0], out, n, NULL, 0), (ssize_t)n);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), (ssize_t)n);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), -EBADFD);
	/* and the stream is given up */
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), -EPROTO);
	close(fd);
	close(sv[0]);
	close(sv[1]);
	fdx_stream_rx_release(&rx);
}
END_TEST

/* A flood of fds on one sendmsg: refused once the queue is full, every one closed. */
START_TEST(stream_fd_flood)
{
	struct fdx_stream_rx rx;
	uint8_t out[FDX_MSG_MAX], in[FDX_MSG_MAX];
	int sv[2], fds[40], got[4];
	unsigned nfds;
	size_t n = bye_msg(out, 0, 0);

	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	for (unsigned i = 0; i < 40; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(tc_send_raw(sv[0], out, n, fds, 40), (ssize_t)n);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), -ENOBUFS);
	close_all(fds, 40);
	close(sv[0]);
	close(sv[1]);
	fdx_stream_rx_release(&rx); /* the fixture counts: nothing left open */
}
END_TEST

/* Five fds with one message are more than a receiver of 4 takes: refused, closed. */
START_TEST(stream_too_many_for_one)
{
	struct fdx_stream_rx rx;
	uint8_t out[FDX_MSG_MAX], in[FDX_MSG_MAX];
	int sv[2], fds[5], got[4];
	unsigned nfds;
	size_t n = bye_msg(out, 0, 5);

	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	for (unsigned i = 0; i < 5; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(tc_send_raw(sv[0], out, n, fds, 5), (ssize_t)n);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), -ENOBUFS);
	close_all(fds, 5);
	close(sv[0]);
	close(sv[1]);
	fdx_stream_rx_release(&rx);
}
END_TEST

/* Bytes that cannot be framed, and a peer gone in the middle of a message. */
START_TEST(stream_unframeable)
{
	struct fdx_stream_rx rx;
	uint8_t out[FDX_MSG_MAX], in[FDX_MSG_MAX];
	int sv[2], got[4];
	unsigned nfds;
	size_t n = bye_msg(out, 0, 0);

	/* wrong magic: the 24 bytes are handed over for the decoder, then nothing more */
	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	out[0] ^= 0xff;
	ck_assert_int_eq(tc_send_raw(sv[0], out, n, NULL, 0), (ssize_t)n);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), FDX_HDR_SIZE);
	ck_assert_int_eq(fdx_msg_decode(in, FDX_HDR_SIZE, 0, &(struct fdx_msg){ 0 }),
			 -EBADMSG);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), -EPROTO);
	close(sv[0]);
	close(sv[1]);

	/* a length beyond any message */
	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	out[0] ^= 0xff;
	tc_put32(out, 12, 1u << 30);
	ck_assert_int_eq(tc_send_raw(sv[0], out, n, NULL, 0), (ssize_t)n);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), FDX_HDR_SIZE);
	ck_assert_int_eq(fdx_msg_decode(in, FDX_HDR_SIZE, 0, &(struct fdx_msg){ 0 }),
			 -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);

	/* half a message, then the end */
	stream_pair(sv);
	fdx_stream_rx_init(&rx);
	n = bye_msg(out, 0, 0);
	ck_assert_int_eq(tc_send_raw(sv[0], out, n / 2, NULL, 0), (ssize_t)(n / 2));
	close(sv[0]);
	ck_assert_int_eq(srecv(sv[1], &rx, in, got, &nfds), -EPIPE);
	close(sv[1]);
	fdx_stream_rx_release(&rx);
}
END_TEST

/* listen and connect with the stream transport give SOCK_STREAM sockets; a client of
 * the other transport is told the server speaks something else. */
START_TEST(stream_endpoints)
{
	char *dir = tc_tmpdir(), *path = sock_path(dir, "s.sock");
	int lfd, lock, c, a;

	ck_assert_int_eq(fdx_channel_listen_on(path, FDX_TRANSPORT_STREAM, &lfd, &lock), 0);
	ck_assert_int_eq(sock_type(lfd), SOCK_STREAM);
	ck_assert_int_eq(fdx_channel_connect_to(path, FDX_TRANSPORT_STREAM, &c), 0);
	ck_assert_int_eq(sock_type(c), SOCK_STREAM);
	ck_assert_int_eq(fdx_channel_accept(lfd, &a), 0);
	close(a);
	close(c);
	ck_assert_int_eq(fdx_channel_connect_to(path, FDX_TRANSPORT_SEQPACKET, &c),
			 -EPROTOTYPE);
	ck_assert_str_eq(fdx_transport_name(FDX_TRANSPORT_STREAM), "stream");
	ck_assert_int_eq(fdx_transport_from_name("seqpacket"), FDX_TRANSPORT_SEQPACKET);
	ck_assert_int_eq(fdx_transport_from_name("Stream"), -EINVAL);
	close(lfd);
	unlink(path);
	close(lock);
	free(path);
	tc_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc;

	tc = tc_case("records");
	tcase_add_test(tc, send_recv_fds);
	tcase_add_test(tc, close_fds_helper);
	tcase_add_test(tc, ctrunc_refused);
	tcase_add_test(tc, record_too_long);
	tcase_add_test(tc, foreign_control_message);
	tcase_add_test(tc, peer_closed);
	tcase_add_test(tc, empty_record_with_fds);
	tcase_add_test(tc, scm_max_fd_limit);
	tcase_add_test(tc, send_to_closed_peer);
	tcase_add_test(tc, recv_out_of_fds);
	suite_add_tcase(s, tc);

	tc = tc_case("endpoints");
	tcase_add_test(tc, listen_connect_accept);
	tcase_add_test(tc, path_too_long);
	tcase_add_test(tc, listen_twice);
	tcase_add_test(tc, listen_twice_other_spelling);
	tcase_add_test(tc, foreign_listener_kept);
	tcase_add_test(tc, stale_socket_replaced);
	tcase_add_test(tc, regular_file_not_replaced);
	tcase_add_test(tc, connect_missing);
	tcase_add_test(tc, default_path_xdg);
	tcase_add_test(tc, default_path_tmp);
	tcase_add_test(tc, stream_endpoints);
	suite_add_tcase(s, tc);

	tc = tc_case("stream");
	tcase_add_test(tc, stream_round_trip);
	tcase_add_test(tc, stream_byte_by_byte);
	tcase_add_test(tc, stream_stray_fds);
	tcase_add_test(tc, stream_fd_flood);
	tcase_add_test(tc, stream_too_many_for_one);
	tcase_add_test(tc, stream_unframeable);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tc_run_suite(channel_suite());
}
