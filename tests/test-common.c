/* test-common.c - fixtures and helpers shared by the fdx unit tests */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

int tc_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		/* the listing's own fd is an artefact of looking, not a leak */
		if (atoi(de->d_name) == dirfd(d))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* Set in the forked test process by setup; each test runs in its own process. */
static int fd_baseline = -1;

void tc_fd_setup(void)
{
	fd_baseline = tc_count_fds();
	ck_assert_msg(fd_baseline > 0, "cannot count fds in /proc/self/fd: %s",
		      strerror(-fd_baseline));
}

int tc_fd_diff(void)
{
	int now = tc_count_fds();

	ck_assert_msg(now >= 0, "cannot count fds in /proc/self/fd: %s", strerror(-now));
	return now - fd_baseline;
}

void tc_fd_teardown(void)
{
	int diff = tc_fd_diff();

	ck_assert_msg(diff == 0, "fd leak: %d fd%s %s during the test (%d before)",
		      diff < 0 ? -diff : diff, diff == 1 || diff == -1 ? "" : "s",
		      diff > 0 ? "left open" : "closed that the test did not own",
		      fd_baseline);
}

TCase *tc_case(const char *name)
{
	TCase *tc = tcase_create(name);

	/* no tcase_set_timeout: check takes CK_DEFAULT_TIMEOUT from the environment */
	tcase_add_checked_fixture(tc, tc_fd_setup, tc_fd_teardown);
	return tc;
}

int tc_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void tc_child_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: child %d: assertion '%s' failed: ", file, line,
		(int)getpid(), cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

pid_t tc_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	/* unflushed output would otherwise be written twice */
	fflush(NULL);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int r = fn(arg);

		fflush(NULL);
		_exit(r);
	}
	return pid;
}

int tc_wait_status(pid_t pid)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == pid, "waitpid %d: %s", (int)pid, strerror(errno));
	return status;
}

void tc_wait_child(pid_t pid, int code)
{
	int status = tc_wait_status(pid);

	ck_assert_msg(!WIFSIGNALED(status), "child %d killed by signal %d (%s)", (int)pid,
		      WTERMSIG(status), strsignal(WTERMSIG(status)));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == code,
		      "child %d exited with %d, expected %d (see its stderr)", (int)pid,
		      WEXITSTATUS(status), code);
}

bool tc_is_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	ck_assert_msg(flags >= 0, "fd %d is not open: %s", fd, strerror(errno));
	return flags & FD_CLOEXEC;
}

bool tc_same_file(int a, int b)
{
	struct stat sa, sb;

	ck_assert_int_eq(fstat(a, &sa), 0);
	ck_assert_int_eq(fstat(b, &sb), 0);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool tc_fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

int tc_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ck_assert_msg(fd >= 0, "memfd_create: %s", strerror(errno));
	ck_assert_msg(ftruncate(fd, (off_t)size) == 0, "ftruncate: %s", strerror(errno));
	return fd;
}

ssize_t tc_send_raw(int sock, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char *ctl = NULL;
	ssize_t n;

	if (nfds) {
		size_t space = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c;

		ctl = calloc(1, space);
		ck_assert_ptr_nonnull(ctl);
		mh.msg_control = ctl;
		mh.msg_controllen = space;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	if (n < 0)
		n = -errno;
	free(ctl);
	return n;
}

ssize_t tc_recv_raw(int sock, void *buf, size_t cap, unsigned *nfds, int flags)
{
	/* room for far more fds than any test sends, so nothing is ever truncated here */
	union {
		char buf[CMSG_SPACE(300 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);

	*nfds = 0;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		unsigned k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (unsigned i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
		*nfds += k;
	}
	return n;
}

char *tc_tmpdir(void)
{
	char *dir = strdup("/tmp/fdx-test-XXXXXX");

	ck_assert_ptr_nonnull(dir);
	ck_assert_msg(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void tc_rmtree(const char *dir)
{
	ck_assert_msg(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) == 0,
		      "cannot remove %s: %s", dir, strerror(errno));
}

void tc_put16(uint8_t *p, size_t off, uint16_t v)
{
	v = htole16(v);
	memcpy(p + off, &v, sizeof(v));
}

void tc_put32(uint8_t *p, size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(p + off, &v, sizeof(v));
}

void tc_put64(uint8_t *p, size_t off, uint64_t v)
{
	v = htole64(v);
	memcpy(p + off, &v, sizeof(v));
}
